import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import bs58 from 'bs58';

// DER prefix of an SPKI-wrapped raw ed25519 public key (RFC 8410); node:crypto needs the wrapper.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Base58 string that decodes to exactly 32 bytes, i.e. a Solana public key / ed25519 key. */
export function decodePublicKey(b58: string): Buffer | null {
  try {
    const bytes = bs58.decode(b58);
    return bytes.length === 32 ? Buffer.from(bytes) : null;
  } catch {
    return null;
  }
}

export function isValidPublicKey(b58: string): boolean {
  return decodePublicKey(b58) !== null;
}

// Building a KeyObject costs as much as the verify itself, so keep one per meter key.
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_MAX = 100_000;

function keyObject(publicKeyB58: string): KeyObject | null {
  let key = keyCache.get(publicKeyB58);
  if (key) return key;
  const raw = decodePublicKey(publicKeyB58);
  if (!raw) return null;
  key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  keyCache.set(publicKeyB58, key);
  return key;
}

/** ed25519 verification of `message` against a base58 signature and base58 public key. */
export function verifyEd25519(publicKeyB58: string, message: Uint8Array, signatureB58: string): boolean {
  const key = keyObject(publicKeyB58);
  if (!key) return false;
  let sig: Uint8Array;
  try {
    sig = bs58.decode(signatureB58);
  } catch {
    return false;
  }
  if (sig.length !== 64) return false;
  return verify(null, message, key, sig);
}
