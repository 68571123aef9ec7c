import { generatePassword, hashPassword } from '../domain/credential.js';
import { registrationProblem } from '../domain/meter.js';
import { isValidIntervalSeconds, maxKwProblem } from '../domain/plausibility.js';
import { registerRegistration, type RegisterProfileRow } from '../domain/register-meter.js';
import {
  insertMeter, listMeters, mosquittoPasswordLines, setMeterRating, setMeterStatus, setPasswordHash, type MeterRow,
} from '../store/meters.js';
import type { Pool } from '../store/pool.js';
import { insertRegisterMeter, resolveHold, type HoldResolution, type ResolveResult } from '../store/register-meters.js';
import type { BrokerAccess } from './meter-provisioner.js';

/** How a meter reports (interval | register, json | ocmf) and its register profile, as given. */
export interface ReportingOptions {
  reads: string;
  format: string;
  registerModulus?: string;
  initialRegister?: string;
  obis?: string;
  serial?: string;
}

export interface MeterRegistrationRequest extends ReportingOptions {
  id: string;
  wallet: string;
  /** base58 ed25519 for JSON meters; SPKI DER hex or PEM for OCMF */
  pubkey: string;
  intervalSeconds: number;
  /** rated power, kW decimal string */
  maxKw: string;
}

export interface RegistryRefusal {
  ok: false;
  /** snake_case name of the refused input (id, wallet, pubkey, interval_seconds, max_kw, reads…) */
  field: string;
  message: string;
}

/** What happened at the broker after a registry write: `updated` false with no error = no dynsec broker. */
export interface BrokerUpdate {
  updated: boolean;
  error: Error | null;
}

export type RegistrationOutcome =
  | { ok: true; meter: MeterRow; password: string; broker: BrokerUpdate }
  | RegistryRefusal
  | { ok: false; field: 'id'; exists: true; message: string };

/** The checked registration, or why not (pure: callers may check before opening a database). */
export function checkRegistration(r: MeterRegistrationRequest): { ok: true; publicKey: string; profile: RegisterProfileRow } | RegistryRefusal {
  const format = r.format === 'ocmf' ? 'ocmf' : 'json';
  const problem = registrationProblem({ id: r.id, wallet: r.wallet, pubkey: r.pubkey, intervalSeconds: r.intervalSeconds, maxKw: r.maxKw, format });
  if (problem) return { ok: false, ...problem };
  const reg = registerRegistration(
    { reads: r.reads as 'interval', format: r.format as 'json', registerModulus: r.registerModulus, initialRegister: r.initialRegister, obis: r.obis, serial: r.serial, maxKw: r.maxKw },
    r.pubkey,
  );
  if (!reg.ok) return reg;
  return { ok: true, publicKey: reg.publicKey, profile: reg.profile };
}

/** Why a rating change is refused, or null (pure, like checkRegistration). */
export function ratingProblem(r: { intervalSeconds?: number; maxKw?: string }): RegistryRefusal | null {
  if (r.intervalSeconds !== undefined && !isValidIntervalSeconds(r.intervalSeconds)) {
    return { ok: false, field: 'interval_seconds', message: 'interval must be a whole number of seconds that divides 86400 (1 … 86400, e.g. 60, 300, 900, 3600)' };
  }
  const kw = r.maxKw === undefined ? null : maxKwProblem(r.maxKw);
  return kw ? { ok: false, field: 'max_kw', message: kw } : null;
}

/**
 * The meter registry as one service: the only way meters are written, shared by the CLI
 * (`gridmint meter …`) and the admin API (`/api/admin/meters…`), so both apply the same rules and
 * both keep Mosquitto's dynamic security in step (MQTT_DYNSEC). Refusals are returned as values
 * with the field they concern; each caller words them for its audience (a flag, a JSON field).
 * The registry write commits first and stays the source of truth: a broker that cannot be
 * updated is reported in `broker`, never undoes the write.
 */
export function createMeterRegistry(deps: { pool: Pool; broker: BrokerAccess }) {
  const { pool } = deps;
  const toBroker = async (fn: Parameters<BrokerAccess>[0]): Promise<BrokerUpdate> => {
    try {
      return { updated: await deps.broker(fn), error: null };
    } catch (err) {
      return { updated: false, error: err as Error };
    }
  };

  return {
    /** A new meter with a generated MQTT password (returned once; only its hash is stored). */
    async register(r: MeterRegistrationRequest): Promise<RegistrationOutcome> {
      const checked = checkRegistration(r);
      if (!checked.ok) return checked;
      const password = generatePassword();
      const meter = { id: r.id, ownerWallet: r.wallet, publicKey: checked.publicKey, intervalSeconds: r.intervalSeconds, maxKw: r.maxKw, passwordHash: hashPassword(password) };
      const row = checked.profile.reads === 'register' ? await insertRegisterMeter(pool, meter, checked.profile) : await insertMeter(pool, meter);
      if (!row) return { ok: false, field: 'id', exists: true, message: `meter ${r.id} already exists` };
      return { ok: true, meter: row, password, broker: await toBroker((p) => p.upsertMeter(row.id, password)) };
    },
    list: (limit: number, offset = 0) => listMeters(pool, limit, offset),
    /** Suspended meters are refused (and disconnected at a dynsec broker); null: no such meter. */
    async setStatus(id: string, status: 'active' | 'suspended'): Promise<{ meter: MeterRow; broker: BrokerUpdate } | null> {
      const row = await setMeterStatus(pool, id, status);
      return row && { meter: row, broker: await toBroker((p) => p.setStatus(id, status)) };
    },
    /** A new interval and/or rated power; a RegistryRefusal for bad values, null for no such meter. */
    async setRating(id: string, r: { intervalSeconds?: number; maxKw?: string }): Promise<{ ok: true; meter: MeterRow } | RegistryRefusal | null> {
      const problem = ratingProblem(r);
      if (problem) return problem;
      const row = await setMeterRating(pool, id, r);
      return row && { ok: true, meter: row };
    },
    /** A new MQTT password (returned once); null: no such meter. */
    async newPassword(id: string): Promise<{ meter: MeterRow; password: string; broker: BrokerUpdate } | null> {
      const password = generatePassword();
      const row = await setPasswordHash(pool, id, hashPassword(password));
      return row && { meter: row, password, broker: await toBroker((p) => p.upsertMeter(id, password)) };
    },
    /** A Mosquitto password file for every active meter. */
    passwordFile: () => mosquittoPasswordLines(pool),
    /** Ends a register meter's hold (meter exchange or new baseline), recorded with who and why. */
    resolveHold: (r: HoldResolution): Promise<ResolveResult> => resolveHold(pool, r),
  };
}

export type MeterRegistry = ReturnType<typeof createMeterRegistry>;
