import { sign } from 'node:crypto';
import bs58 from 'bs58';
import { describe, expect, it } from 'vitest';
import { decodePublicKey, verifyEd25519 } from '../../../src/domain/keys.js';
import { generateMeterKey } from '../../../src/domain/sign.js';
import { createKeyCache } from '../../../src/ingest/key-cache.js';

describe('meter key cache (verifier side)', () => {
  it('decodes each key once, including keys that are not keys', () => {
    const calls: string[] = [];
    const keys = createKeyCache((k) => (calls.push(k), decodePublicKey(k)), 10);
    const { publicKey } = generateMeterKey();
    const first = keys(publicKey);
    expect(keys(publicKey)).toBe(first);
    expect(first).toEqual(decodePublicKey(publicKey));
    expect(keys('not-base58-0OIl')).toBeNull();
    expect(keys('not-base58-0OIl')).toBeNull();
    expect(calls).toEqual([publicKey, 'not-base58-0OIl']);
  });

  it('does not keep a decoder failure: a bad key is tried again', () => {
    let n = 0;
    const keys = createKeyCache((k) => {
      n++;
      throw new Error(`bad ${k}`);
    }, 10);
    expect(() => keys('x')).toThrow('bad x');
    expect(() => keys('x')).toThrow('bad x');
    expect(n).toBe(2);
  });

  it('stays bounded: a full cache starts over', () => {
    const calls: string[] = [];
    const keys = createKeyCache((k) => (calls.push(k), null), 2);
    keys('a');
    keys('b');
    keys('c'); // full: cleared, then c stored
    keys('a');
    expect(calls).toEqual(['a', 'b', 'c', 'a']);
  });

  it('verification gives the same answers with and without it', () => {
    const key = generateMeterKey();
    const keys = createKeyCache(decodePublicKey, 10);
    const msg = Buffer.from('a canonical reading');
    const good = bs58.encode(sign(null, msg, key.privateKey));
    const other = bs58.encode(sign(null, Buffer.from('something else'), key.privateKey));
    for (const decode of [undefined, keys, keys]) {
      expect(verifyEd25519(key.publicKey, msg, good, decode)).toBe(true);
      expect(verifyEd25519(key.publicKey, msg, other, decode)).toBe(false);
      expect(verifyEd25519('1111', msg, good, decode)).toBe(false);
    }
  });
});
