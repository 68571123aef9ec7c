import { describe, expect, it } from 'vitest';
import { AGAIN, retry } from '../../../src/lib/retry.js';

// No waits worth timing: every delay is 0 ms, so these check only what is tried and what is thrown.
const now = { initialMs: 0, maxMs: 0 };

describe('retry', () => {
  it('tries again on AGAIN until a value comes back', async () => {
    const seen: number[] = [];
    const v = await retry(async (n) => (seen.push(n), n < 3 ? AGAIN : 'done'), { backoff: now });
    expect(v).toBe('done');
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it('gives up after `attempts` tries with the exhausted error', async () => {
    let tries = 0;
    await expect(retry(async () => (tries++, AGAIN), { backoff: now, attempts: 3, exhausted: () => new Error('never ready') })).rejects.toThrow('never ready');
    expect(tries).toBe(3);
  });

  it('retries only retryable errors, and rethrows the last one when the tries run out', async () => {
    let tries = 0;
    const transient = new Error('transient');
    await expect(retry(async () => { tries++; throw transient; }, { backoff: now, attempts: 4, retryable: (e) => e === transient })).rejects.toBe(transient);
    expect(tries).toBe(4);
    tries = 0;
    const fatal = new Error('fatal');
    await expect(retry(async () => { tries++; throw fatal; }, { backoff: now, attempts: 4, retryable: (e) => e === transient })).rejects.toBe(fatal);
    expect(tries).toBe(1);
  });
});
