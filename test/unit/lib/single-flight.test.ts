import { describe, expect, it } from 'vitest';
import { singleFlightCache } from '../../../src/lib/single-flight.js';

describe('singleFlightCache', () => {
  it('shares one load among concurrent callers and reuses it within the ttl', async () => {
    let loads = 0;
    let release!: (v: string) => void;
    const get = singleFlightCache(60_000, () => (loads++, new Promise<string>((r) => (release = r))));
    const waiting = Promise.all([get('k'), get('k'), get('k')]);
    release('v1');
    expect(await waiting).toEqual(['v1', 'v1', 'v1']);
    expect(await get('k')).toBe('v1');
    expect(loads).toBe(1);
    get.clear();
    const next = get('k');
    release('v2');
    expect(await next).toBe('v2');
    expect(loads).toBe(2);
  });

  it('does not cache a failure, and keeps keys bounded', async () => {
    let fail = true;
    let loads = 0;
    const get = singleFlightCache(60_000, async (k) => {
      loads++;
      if (fail) throw new Error('rpc down');
      return k;
    }, 2);
    await expect(get('a')).rejects.toThrow('rpc down');
    fail = false;
    expect(await get('a')).toBe('a');
    await get('b');
    await get('c'); // evicts 'a'
    const before = loads;
    await get('a');
    expect(loads).toBe(before + 1);
  });
});
