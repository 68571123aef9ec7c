import { isValidPublicKey } from './keys.js';
import { AmountError, kwhToBaseUnits } from './kwh.js';
import { METER_ID_RE } from './reading.js';

export const DEFAULT_MAX_KWH = '100';

export interface MeterRegistration {
  id: string;
  wallet: string;
  pubkey: string;
  maxKwh?: string;
  /** ocmf: the key is an ECDSA SPKI key, checked by registerRegistration instead */
  format?: 'json' | 'ocmf';
}

/** Why a registration is refused, or null. Same rules for the CLI and POST /api/admin/meters. */
export function registrationProblem(m: MeterRegistration): { field: string; message: string } | null {
  if (!METER_ID_RE.test(m.id)) return { field: 'id', message: 'meter id must match ^[A-Za-z0-9._-]{1,64}$' };
  if (!isValidPublicKey(m.wallet)) return { field: 'wallet', message: 'wallet is not a base58 Solana public key' };
  if (m.format !== 'ocmf' && !isValidPublicKey(m.pubkey)) return { field: 'pubkey', message: 'pubkey is not a base58 ed25519 public key' };
  if (m.maxKwh !== undefined) {
    try {
      if (kwhToBaseUnits(m.maxKwh) <= 0n) return { field: 'max_kwh', message: 'max kWh must be greater than 0' };
    } catch (err) {
      return { field: 'max_kwh', message: (err as AmountError).message };
    }
  }
  return null;
}
