import { describe, expect, it } from 'vitest';
import { backoffDelay, createBackoff } from '../../../src/lib/backoff.js';

describe('backoff', () => {
  it('doubles from the initial delay up to the cap, and stays there', () => {
    const b = createBackoff({ initialMs: 100, maxMs: 5_000 });
    expect(Array.from({ length: 9 }, () => b.next())).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000]);
  });

  it('starts over after reset', () => {
    const b = createBackoff({ initialMs: 250, maxMs: 5_000 });
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(250);
  });

  it('keeps the cap for retry counts that would overflow, and treats negatives as the first retry', () => {
    const p = { initialMs: 2_000, maxMs: 300_000 };
    expect(backoffDelay(5_000, p)).toBe(300_000);
    expect(backoffDelay(-3, p)).toBe(2_000);
  });

  it('with jitter, draws each delay from [d·(1−jitter), d], never above the cap', () => {
    const p = { initialMs: 1_000, maxMs: 4_000, jitter: 0.5 };
    expect(backoffDelay(1, { ...p, random: () => 0 })).toBe(2_000);
    expect(backoffDelay(1, { ...p, random: () => 0.999999 })).toBe(1_000);
    expect(backoffDelay(10, { ...p, random: () => 0.5 })).toBe(3_000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(10, p);
      expect(d).toBeGreaterThanOrEqual(2_000);
      expect(d).toBeLessThanOrEqual(4_000);
    }
  });

  it('honours another growth factor', () => {
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, { initialMs: 10, maxMs: 1_000, factor: 3 }))).toEqual([10, 30, 90, 270]);
  });
});
