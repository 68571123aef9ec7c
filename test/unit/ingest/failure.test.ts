import { describe, expect, it } from 'vitest';
import { classifyFailure, GaveUp, isolatePoison, withRetry, type RetryHooks } from '../../../src/ingest/failure.js';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

describe('classifyFailure', () => {
  it('treats lost connections, serialization failures, deadlocks and exhaustion as transient', () => {
    for (const code of ['08006', '08003', '40001', '40P01', '53300', '57P01', '57014', '55P03']) expect(classifyFailure(pgError(code))).toBe('transient');
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT']) expect(classifyFailure(pgError(code))).toBe('transient');
    expect(classifyFailure(new Error('Connection terminated unexpectedly'))).toBe('transient');
    expect(classifyFailure(new Error('timeout exceeded when trying to connect'))).toBe('transient');
  });

  it('treats data and integrity errors as deterministic, anything else as unknown', () => {
    for (const code of ['22021', '22P02', '22008', '23502', '23503', '23514']) expect(classifyFailure(pgError(code))).toBe('deterministic');
    expect(classifyFailure(pgError('XX000'))).toBe('unknown');
    expect(classifyFailure(new TypeError('cannot read properties of undefined'))).toBe('unknown');
    expect(classifyFailure(null)).toBe('unknown');
    expect(classifyFailure(new Error('verify worker exited (1)'))).toBe('unknown'); // a message may be what kills it
  });
});

const hooks = (log: string[] = [], databaseAnswers = async () => true): RetryHooks => ({
  aborted: () => false,
  failed: (op, n, kind) => log.push(`${op}:${n}:${kind}`),
  recovered: () => {},
  databaseAnswers,
});

describe('withRetry', () => {
  it('gives up at once on a deterministic error and after N attempts on an unknown one', async () => {
    const log: string[] = [];
    await expect(withRetry('w', () => Promise.reject(pgError('22021')), 5, hooks(log))).rejects.toMatchObject({ kind: 'deterministic' });
    expect(log).toEqual(['w:1:deterministic']);
    let calls = 0;
    await expect(withRetry('w', () => (calls++, Promise.reject(new Error('?'))), 3, hooks())).rejects.toBeInstanceOf(GaveUp);
    expect(calls).toBe(3);
  });

  it('keeps retrying an unknown error while the database does not answer (an outage is nobody\'s poison)', async () => {
    let calls = 0;
    let up = false;
    const v = await withRetry('w', async () => (++calls < 6 ? Promise.reject(new Error('?')) : 'ok'), 2, hooks([], async () => up || ((up = calls >= 4), false)));
    expect({ v, calls }).toEqual({ v: 'ok', calls: 6 });
  });

  it('retries a transient error until it passes', async () => {
    let calls = 0;
    const v = await withRetry('w', async () => (++calls < 3 ? Promise.reject(pgError('40001')) : 'ok'), 1, hooks());
    expect({ v, calls }).toEqual({ v: 'ok', calls: 3 });
  });
});

describe('isolatePoison', () => {
  it('splits down to the poisoned items and keeps every result in order', async () => {
    const items = Array.from({ length: 37 }, (_, i) => i);
    const poison = new Set([5, 6, 30]);
    const runs: number[] = [];
    const out = await isolatePoison(
      items,
      async (part) => {
        runs.push(part.length);
        if (part.some((x) => poison.has(x))) throw new GaveUp('deterministic', new Error('bad'));
        return part.map((x) => `ok${x}`);
      },
      async (x) => `poison${x}`,
    );
    expect(out).toEqual(items.map((x) => (poison.has(x) ? `poison${x}` : `ok${x}`)));
    expect(runs.length).toBeLessThan(items.length); // not one by one
  });

  it('lets any other error (shutdown) through', async () => {
    await expect(isolatePoison([1, 2], () => Promise.reject(new Error('gateway shutting down')), async () => 0)).rejects.toThrow('shutting down');
  });
});
