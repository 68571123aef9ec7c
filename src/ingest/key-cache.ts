import { decodePublicKey, type KeyDecoder } from '../domain/keys.js';

/**
 * Meter public keys decoded from base58 once per verifier thread: decoding costs about as much as
 * a fast signature check, and each registered meter's key is checked with every reading it sends.
 * Bounded (cleared when full) for fleets larger than the cache. Kept here, on the verifier side,
 * so the domain's verification stays a pure function.
 */
export function createKeyCache(max = 100_000, decode: KeyDecoder = decodePublicKey): KeyDecoder {
  const keys = new Map<string, Buffer | null>();
  return (publicKeyB58) => {
    let key = keys.get(publicKeyB58);
    if (key !== undefined) return key;
    key = decode(publicKeyB58);
    if (keys.size >= max) keys.clear();
    keys.set(publicKeyB58, key);
    return key;
  };
}

/** This thread's cache (the main thread and each verify worker load their own copy of this module). */
export const meterKeys: KeyDecoder = createKeyCache();
