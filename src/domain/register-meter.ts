import { AmountError, kwhToBaseUnits } from './kwh.js';
import { parseOcmfPublicKey } from './ocmf.js';

export const DEFAULT_OBIS = '1-0:1.8.0';

/** How a register meter is registered (`meter add --reads register` / `--format ocmf`). */
export interface RegisterRegistration {
  reads: 'interval' | 'register';
  format: 'json' | 'ocmf';
  registerModulus?: string;
  initialRegister?: string;
  obis?: string;
  serial?: string;
  maxKw?: string;
}

/** The profile as stored: OCMF keys normalised to SPKI DER hex. */
export interface RegisterProfileRow {
  reads: 'interval' | 'register';
  format: 'json' | 'ocmf';
  registerModulus: string | null;
  initialRegister: string | null;
  obis: string | null;
  serial: string | null;
  maxKw: string | null;
}

function amountProblem(field: string, v: string | undefined, allowZero: boolean): { field: string; message: string } | null {
  if (v === undefined) return null;
  try {
    const u = kwhToBaseUnits(v);
    if (u < 0n || (!allowZero && u === 0n)) return { field, message: `must be ${allowZero ? '≥' : '>'} 0` };
  } catch (err) {
    return { field, message: (err as AmountError).message };
  }
  return null;
}

/**
 * Checks register options; returns the stored profile and, for OCMF, the key to store (SPKI DER
 * hex), or the problem. The ed25519 key of JSON meters is checked by registrationProblem as before.
 */
export function registerRegistration(r: RegisterRegistration, pubkey: string):
  | { ok: true; profile: RegisterProfileRow; publicKey: string }
  | { ok: false; field: string; message: string } {
  const bad = (field: string, message: string) => ({ ok: false as const, field, message });
  if (r.reads !== 'interval' && r.reads !== 'register') return bad('reads', 'must be interval or register');
  if (r.format !== 'json' && r.format !== 'ocmf') return bad('format', 'must be json or ocmf');
  const reads = r.format === 'ocmf' ? 'register' : r.reads;
  if (reads === 'interval' && (r.registerModulus !== undefined || r.initialRegister !== undefined)) {
    return bad('reads', '--register-modulus and --initial-register need --reads register');
  }
  for (const p of [amountProblem('register_modulus', r.registerModulus, false), amountProblem('initial_register', r.initialRegister, true), amountProblem('max_kw', r.maxKw, false)]) {
    if (p) return bad(p.field, p.message);
  }
  if (r.format === 'json' && (r.obis !== undefined || r.serial !== undefined)) return bad('format', '--obis and --serial are for --format ocmf');
  if (r.obis !== undefined && !/^[0-9]{1,3}-[0-9a-zA-Z]{1,3}:[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}([.*][0-9A-Fa-f]{1,3})?$/.test(r.obis)) return bad('obis', 'not an OBIS code like 1-0:1.8.0');
  if (r.serial !== undefined && (r.serial.length < 1 || r.serial.length > 64)) return bad('serial', 'must be 1 to 64 characters');
  if (r.serial !== undefined && !/^[\x20-\x7e]+$/.test(r.serial)) return bad('serial', 'must be printable ASCII (an OCMF gateway serial)');
  let publicKey = pubkey;
  if (r.format === 'ocmf') {
    try {
      publicKey = parseOcmfPublicKey(pubkey).spkiHex;
    } catch (err) {
      return bad('pubkey', (err as Error).message);
    }
  }
  return {
    ok: true,
    publicKey,
    profile: {
      reads, format: r.format, registerModulus: r.registerModulus ?? null, initialRegister: r.initialRegister ?? null,
      obis: r.format === 'ocmf' ? (r.obis ?? DEFAULT_OBIS) : null, serial: r.serial ?? null, maxKw: r.maxKw ?? null,
    },
  };
}
