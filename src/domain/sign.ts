import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import bs58 from 'bs58';
import { canonicalBytes } from './canonical.js';
import type { SignedReading } from './reading.js';
import type { SignedRegisterReading } from './register-reading.js';

// DER prefix of a PKCS#8-wrapped raw ed25519 seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A meter's signing key: what firmware holds. `secretKey` is the 64-byte Solana CLI form. */
export interface MeterKey {
  publicKey: string;
  secretKey: Uint8Array;
  privateKey: KeyObject;
}

export function meterKeyFromSecret(secretKey: Uint8Array): MeterKey {
  if (secretKey.length !== 64) throw new Error('a Solana keypair is 64 bytes (seed ‖ public key)');
  const seed = Buffer.from(secretKey.subarray(0, 32));
  return {
    publicKey: bs58.encode(secretKey.subarray(32)),
    secretKey,
    privateKey: createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' }),
  };
}

export function generateMeterKey(): MeterKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return meterKeyFromSecret(Uint8Array.from([...seed, ...pub]));
}

/** What a meter does before publishing: sign the canonical form, attach the signature. */
export function signReading(key: MeterKey, fields: Omit<SignedReading, 'signature'>): SignedReading {
  const signature = bs58.encode(sign(null, canonicalBytes(fields), key.privateKey));
  return { ...fields, signature };
}

/** The register variant (issue 10): same rule, `register_kwh` instead of `kwh_amount`. */
export function signRegisterReading(key: MeterKey, fields: Omit<SignedRegisterReading, 'signature'>): SignedRegisterReading {
  const signature = bs58.encode(sign(null, canonicalBytes(fields), key.privateKey));
  return { ...fields, signature };
}
