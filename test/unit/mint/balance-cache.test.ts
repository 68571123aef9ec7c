import { describe, expect, it } from 'vitest';
import { createBalanceCache } from '../../../src/mint/balance-cache.js';

describe('balance cache', () => {
  it('does not keep a read that was in flight when the wallet was minted to', async () => {
    let chain = 1n;
    const gates: (() => void)[] = [];
    const reads: string[][] = [];
    const cache = createBalanceCache({
      maxAgeMs: 60_000,
      read: async (ws) => {
        reads.push(ws);
        const value = chain;
        await new Promise<void>((r) => gates.push(r));
        return new Map(ws.map((w) => [w, value]));
      },
    });
    const before = cache.get('w'); // reads 1
    await new Promise((r) => setImmediate(r));
    chain = 2n; // the mint lands …
    cache.invalidate(['w']); // … and this gateway confirms it
    const after = cache.get('w');
    await new Promise((r) => setImmediate(r));
    gates.forEach((g) => g());
    expect((await before).baseUnits).toBe(1n); // asked before the mint
    expect((await after).baseUnits).toBe(2n);
    expect((await cache.get('w')).baseUnits).toBe(2n); // the pre-mint read was not stored
    expect(reads).toHaveLength(2);
  });

  it('serves nothing older than maxAgeMs and refreshes ahead past half of it', async () => {
    let t = 0;
    let fail = false;
    let n = 0;
    const cache = createBalanceCache({
      maxAgeMs: 1_000, now: () => t,
      read: async (ws) => {
        n++;
        if (fail) throw new Error('chain unreachable');
        return new Map(ws.map((w) => [w, 7n]));
      },
    });
    expect((await cache.get('w')).at.getTime()).toBe(0);
    t = 600;
    fail = true;
    expect((await cache.get('w')).baseUnits).toBe(7n); // still fresh; a background refresh fails quietly
    await new Promise((r) => setImmediate(r));
    expect(n).toBe(2);
    t = 1_000;
    await expect(cache.get('w')).rejects.toThrow(/unreachable/);
  });

  it('keeps a recently asked-for wallet fresh in the background, so it never waits on the chain', async () => {
    let reads = 0;
    const cache = createBalanceCache({ maxAgeMs: 200, keepWarmMs: 5_000, read: async (ws) => ((reads += 1), new Map(ws.map((w) => [w, BigInt(reads)]))) });
    try {
      await cache.get('w');
      const end = Date.now() + 10_000;
      while (reads < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(reads).toBeGreaterThanOrEqual(3); // refreshed without being asked
      const b = await cache.get('w');
      expect(b.baseUnits).toBeGreaterThanOrEqual(2n);
      expect(Date.now() - b.at.getTime()).toBeLessThan(200);
    } finally {
      cache.stop();
    }
  });
});
