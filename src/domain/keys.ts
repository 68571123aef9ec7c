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

/** Turns a base58 public key into its 32 raw bytes (null: not a key); a verifier may cache it. */
export type KeyDecoder = (publicKeyB58: string) => Buffer | null;

/**
 * ed25519 verification of `message` against a base58 signature and base58 public key, with
 * libsodium: about twice the throughput of node:crypto here (signature checks are the ingest
 * ceiling), and strict — it also refuses malleable (non-canonical) signatures and small-order keys.
 */
export function verifyEd25519(publicKeyB58: string, message: Uint8Array, signatureB58: string, decodeKey: KeyDecoder = decodePublicKey): boolean {
  const key = decodeKey(publicKeyB58);
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
