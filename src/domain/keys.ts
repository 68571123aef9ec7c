import bs58 from 'bs58';
import sodium from 'sodium-native';

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

// Decoding base58 costs about as much as a fast verify, so keep each meter's raw key.
const keyCache = new Map<string, Buffer | null>();
const KEY_CACHE_MAX = 100_000;

function rawKey(publicKeyB58: string): Buffer | null {
  let key = keyCache.get(publicKeyB58);
  if (key !== undefined) return key;
  key = decodePublicKey(publicKeyB58);
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  keyCache.set(publicKeyB58, key);
  return key;
}

/**
 * ed25519 verification of `message` against a base58 signature and base58 public key, with
 * libsodium: about twice the throughput of node:crypto here (signature checks are the ingest
 * ceiling), and strict — it also refuses malleable (non-canonical) signatures and small-order keys.
 */
export function verifyEd25519(publicKeyB58: string, message: Uint8Array, signatureB58: string): boolean {
  const key = rawKey(publicKeyB58);
  if (!key) return false;
  let sig: Uint8Array;
  try {
    sig = bs58.decode(signatureB58);
  } catch {
    return false;
  }
  if (sig.length !== 64) return false;
  return sodium.crypto_sign_verify_detached(sig, message, key);
}
