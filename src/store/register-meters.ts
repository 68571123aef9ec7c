import type pg from 'pg';
import { kwhToBaseUnits, numericToBaseUnits } from '../domain/kwh.js';
import type { RegisterProfileRow } from '../domain/register-meter.js';
import { deriveEnergy } from '../domain/register.js';
import { loadChains } from './register-chain.js';
import { writeChains } from './register-reads.js';
import { getMeter, insertMeter, type MeterRow, type NewMeter } from './meters.js';
import { withTransaction } from './pool.js';

/** Sets a new meter's register profile (same transaction as its insert). */
export async function setRegisterProfile(c: pg.PoolClient, id: string, p: RegisterProfileRow): Promise<void> {
  await c.query(
    `UPDATE meters SET reads = $2, format = $3, register_modulus = $4::numeric, initial_register = $5::numeric,
            obis = $6, serial = $7, max_kw = coalesce($8::numeric, max_kw), updated_at = now() WHERE id = $1`,
    [id, p.reads, p.format, p.registerModulus, p.initialRegister, p.obis, p.serial, p.maxKw],
  );
}

export interface HoldResolution {
  meterId: string;
  kind: 'replace' | 'rebase';
  at: string;
  finalRegister?: string;
  newInitial?: string;
  by: string;
  reason: string;
}

export type ResolveResult =
  | { ok: true; resolutionId: string; readsChanged: number; stillOnHold: boolean }
  | { ok: false; code: 'unknown_meter' | 'not_register' | 'not_on_hold' | 'invalid_resolution'; message: string };

/**
 * Ends a meter's hold: records who and why, then re-derives the held reads under the meter's
 * lock. A held read only ever had 0 energy, so nothing minted or certified can change.
 */
export async function resolveHold(pool: pg.Pool, r: HoldResolution): Promise<ResolveResult> {
  const atMs = Date.parse(r.at);
  if (Number.isNaN(atMs)) return { ok: false, code: 'invalid_resolution', message: '--at is not a valid time' };
  return withTransaction(pool, async (c) => {
    const m = await c.query<{ reads: string; hold_since: Date | null }>('SELECT reads, hold_since FROM meters WHERE id = $1 FOR UPDATE', [r.meterId]);
    const meter = m.rows[0];
    if (!meter) return { ok: false, code: 'unknown_meter', message: `no meter ${r.meterId}` };
    if (meter.reads !== 'register') return { ok: false, code: 'not_register', message: `meter ${r.meterId} does not report a register` };
    if (!meter.hold_since) return { ok: false, code: 'not_on_hold', message: `meter ${r.meterId} is not on hold` };
    const holdMs = meter.hold_since.getTime();
    const prev = await c.query<{ ts: Date; register: string }>(
      `SELECT "timestamp" AS ts, register_kwh::text AS register FROM meter_readings
        WHERE meter_id = $1 AND register_kwh IS NOT NULL AND "timestamp" < $2 AND energy_state NOT IN ('held', 'late')
        ORDER BY "timestamp" DESC LIMIT 1`,
      [r.meterId, meter.hold_since],
    );
    const before = prev.rows[0];
    const invalid = (message: string): ResolveResult => ({ ok: false, code: 'invalid_resolution', message });
    if (r.kind === 'rebase') {
      const at = await c.query('SELECT 1 FROM meter_readings WHERE meter_id = $1 AND "timestamp" = $2::timestamptz AND register_kwh IS NOT NULL', [r.meterId, r.at]);
      if (at.rowCount !== 1 || atMs < holdMs) return invalid(`--at must be the time of a held read (the hold began at ${meter.hold_since.toISOString()})`);
    } else {
      if (r.finalRegister === undefined || r.newInitial === undefined) return invalid('replace needs --final-register and --new-initial');
      if (atMs >= holdMs || (before && atMs <= before.ts.getTime())) {
        return invalid(`--at must lie after the last good read${before ? ` (${before.ts.toISOString()})` : ''} and before the hold began (${meter.hold_since.toISOString()})`);
      }
      if (before && kwhToBaseUnits(r.finalRegister) < numericToBaseUnits(before.register)) return invalid(`--final-register is below the last good read (${before.register})`);
    }
    const ins = await c.query<{ id: string }>(
      `INSERT INTO register_resolutions (meter_id, kind, "at", final_register, new_initial, resolved_by, reason)
       VALUES ($1, $2, $3::timestamptz, $4::numeric, $5::numeric, $6, $7) ON CONFLICT (meter_id, "at") DO NOTHING RETURNING id`,
      [r.meterId, r.kind, r.at, r.kind === 'replace' ? r.finalRegister : null, r.kind === 'replace' ? r.newInitial : null, r.by, r.reason],
    );
    if (!ins.rows[0]) return invalid(`a resolution at ${r.at} is already recorded for ${r.meterId}`);
    const chains = await loadChains(c, new Map([[r.meterId, Math.min(atMs, holdMs)]]));
    const chain = chains.get(r.meterId)!;
    const loaded = new Map(chain.loaded);
    chain.window = deriveEnergy(chain.start, chain.window, chain.rules, chain.resolutions).reads;
    await writeChains(c, [chain], []);
    const changed = chain.window.filter((x) => loaded.get(x.key)?.energy !== x.energy).length;
    const after = await c.query<{ hold_since: Date | null }>('SELECT hold_since FROM meters WHERE id = $1', [r.meterId]);
    return { ok: true, resolutionId: ins.rows[0].id, readsChanged: changed, stillOnHold: after.rows[0]!.hold_since !== null };
  });
}

/** Meters on hold, and how long the oldest has been (for the metric and alert). */
export async function holdStats(db: pg.Pool): Promise<{ count: number; oldestSince: Date | null }> {
  const r = await db.query<{ n: number; oldest: Date | null }>('SELECT count(*)::int AS n, min(hold_since) AS oldest FROM meters WHERE hold_since IS NOT NULL');
  return { count: r.rows[0]!.n, oldestSince: r.rows[0]!.oldest };
}

/** OCMF page counters missing between the lowest and highest seen, over all meters. */
export async function missingOcmfPages(db: pg.Pool): Promise<number> {
  const r = await db.query<{ n: string }>(
    `SELECT coalesce(sum(missing), 0)::text AS n
       FROM (SELECT max(counter) - min(counter) + 1 - count(*) AS missing FROM ocmf_pages GROUP BY meter_id, page_type) t`,
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** Inserts a meter with its register profile, atomically (null when the id is taken). */
export async function insertRegisterMeter(pool: pg.Pool, m: NewMeter, p: RegisterProfileRow): Promise<MeterRow | null> {
  return withTransaction(pool, async (c) => {
    const row = await insertMeter(c, m);
    if (!row) return null;
    await setRegisterProfile(c, m.id, p);
    return getMeter(c, m.id);
  });
}
