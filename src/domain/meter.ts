import { isValidPublicKey } from './keys.js';
import { isValidIntervalSeconds, maxKwProblem } from './plausibility.js';
import { METER_ID_RE } from './reading.js';

/**
 * A meter's MQTT client id is its meter id (enforced by the embedded broker, and by Mosquitto's
 * use_username_as_clientid). The gateway's own subscriber ids are generated as `gridmint-…`, so
 * meter ids with that prefix are refused: no meter can ever present the gateway's client id.
 */
export const RESERVED_ID_PREFIX = /^gridmint-/i;

export interface MeterRegistration {
  id: string;
  wallet: string;
  pubkey: string;
  /** a divisor of 86,400; default DEFAULT_INTERVAL_SECONDS */
  intervalSeconds?: number;
  /** rated power in kW, decimal string; default DEFAULT_MAX_KW */
  maxKw?: string;
  /** ocmf: the key is an ECDSA SPKI key, checked by registerRegistration instead */
  format?: 'json' | 'ocmf';
}

/** Why a registration is refused, or null. Same rules for the CLI and POST /api/admin/meters. */
export function registrationProblem(m: MeterRegistration): { field: string; message: string } | null {
  if (!METER_ID_RE.test(m.id)) return { field: 'id', message: 'meter id must match ^[A-Za-z0-9._-]{1,64}$' };
  if (RESERVED_ID_PREFIX.test(m.id)) return { field: 'id', message: 'meter ids starting with "gridmint-" are reserved for the gateway\'s own MQTT client ids' };
  if (!isValidPublicKey(m.wallet)) return { field: 'wallet', message: 'wallet is not a base58 Solana public key' };
  if (m.format !== 'ocmf' && !isValidPublicKey(m.pubkey)) return { field: 'pubkey', message: 'pubkey is not a base58 ed25519 public key' };
  if (m.intervalSeconds !== undefined && !isValidIntervalSeconds(m.intervalSeconds)) {
    return { field: 'interval_seconds', message: 'interval must be a whole number of seconds that divides 86400 (1 … 86400, e.g. 60, 300, 900, 3600)' };
  }
  if (m.maxKw !== undefined) {
    const problem = maxKwProblem(m.maxKw);
    if (problem) return { field: 'max_kw', message: problem };
  }
  return null;
}
