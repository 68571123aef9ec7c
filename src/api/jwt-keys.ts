import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { readOrCreateSecret } from '../data-dir.js';
import type { JwtKeys } from './auth.js';

/**
 * The API's JWT keys. Production must be given a secret or public key; anywhere else a random
 * secret is generated once under DATA_DIR/keys so `npm start` works and tokens survive restarts.
 */
export async function resolveJwtKeys(config: Config): Promise<JwtKeys & { audience: string | null; maxTtlSeconds: number }> {
  const rules = { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, maxTtlSeconds: config.JWT_MAX_TTL_SECONDS };
  if (config.JWT_PUBLIC_KEY) return { secret: config.JWT_SECRET, publicKey: config.JWT_PUBLIC_KEY, ...rules };
  if (config.JWT_SECRET) return { secret: config.JWT_SECRET, publicKey: null, ...rules };
  if (config.NODE_ENV === 'production') {
    throw new Error('config: JWT_SECRET (or JWT_PUBLIC_KEY) is required when NODE_ENV=production');
  }
  const secret = await readOrCreateSecret(join(config.DATA_DIR, 'keys', 'jwt-secret'), 48);
  return { secret, publicKey: null, ...rules };
}
