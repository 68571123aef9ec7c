import { decodePublicKey, type KeyDecoder } from '../domain/keys.js';
import { parseOcmfPublicKey, type ParsedKey } from '../domain/ocmf.js';

/**
 * Meter public keys decoded once per verifier thread: decoding base58 costs about as much as a
 * fast signature check, parsing an SPKI key more, and each registered meter's key is checked with
 * every reading it sends. Bounded (cleared when full) for fleets larger than the cache. A decoder
 * that throws (a bad registered key) is not cached. Kept here, on the verifier side, so the
 * domain's verification stays a pure function.
 */
export function createKeyCache<K>(decode: (text: string) => K, max: number): (text: string) => K {
  const keys = new Map<string, K>();
  return (text) => {
    if (keys.has(text)) return keys.get(text)!;
    const key = decode(text);
    if (keys.size >= max) keys.clear();
    keys.set(text, key);
    return key;
  };
}

// This thread's caches: the main thread and each verify worker load their own copy of this module.
/** ed25519 keys (base58) of interval and register JSON meters */
export const meterKeys: KeyDecoder = createKeyCache(decodePublicKey, 100_000);
/** EC keys (SPKI) of OCMF meters */
export const ocmfKeys: (spkiHex: string) => ParsedKey = createKeyCache(parseOcmfPublicKey, 10_000);
