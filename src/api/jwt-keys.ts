import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { readOrCreateSecret } from '../data-dir.js';

/**
 * The API's JWT keys. Production must be given a secret or public key; anywhere else a random
 * secret is generated once under DATA_DIR/keys so `npm start` works and tokens survive restarts.
 */
export async function resolveJwtKeys(config: Config): Promise<{ secret: string | null; publicKey: string | null; issuer: string | null }> {
  if (config.JWT_PUBLIC_KEY) return { secret: config.JWT_SECRET, publicKey: config.JWT_PUBLIC_KEY, issuer: config.JWT_ISSUER };
  if (config.JWT_SECRET) return { secret: config.JWT_SECRET, publicKey: null, issuer: config.JWT_ISSUER };
  if (config.NODE_ENV === 'production') {
    throw new Error('config: JWT_SECRET (or JWT_PUBLIC_KEY) is required when NODE_ENV=production');
  }
  const secret = await readOrCreateSecret(join(config.DATA_DIR, 'keys', 'jwt-secret'), 48);
  return { secret, publicKey: null, issuer: config.JWT_ISSUER };
}
