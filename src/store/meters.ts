import type pg from 'pg';
import type { MeterSnapshot } from '../domain/evaluate.js';
import { baseUnitsToKwh, kwhToBaseUnits, numericToBaseUnits } from '../domain/kwh.js';
import { DEFAULT_INTERVAL_SECONDS, DEFAULT_MAX_KW, isValidIntervalSeconds, maxKwhPerInterval } from '../domain/plausibility.js';

export interface MeterRow {
  id: string;
  owner_wallet: string;
  public_key: string;
  status: 'active' | 'suspended';
  interval_seconds: number;
  max_kw: string;
  created_at: Date;
  last_seen_at: Date | null;
  // register meters and OCMF (migration 008)
  reads: 'interval' | 'register';
  format: 'json' | 'ocmf';
  register_modulus: string | null;
  initial_register: string | null;
  obis: string | null;
  serial: string | null;
  hold_since: Date | null;
}

const COLUMNS = `id, owner_wallet, public_key, status, interval_seconds, max_kw::text AS max_kw, created_at, last_seen_at,
  reads, format, register_modulus::text AS register_modulus, initial_register::text AS initial_register, obis, serial, hold_since`;
const kwhView = (v: string | null) => (v === null ? null : baseUnitsToKwh(numericToBaseUnits(v)));

export interface NewMeter {
  id: string;
  ownerWallet: string;
  publicKey: string;
  /** default: the column default (DEFAULT_INTERVAL_SECONDS) */
  intervalSeconds?: number;
  /** rated power, kW decimal string; default: the column default (DEFAULT_MAX_KW) */
  maxKw?: string;
  passwordHash: string;
}

/** Inserts a meter; returns null when the id is taken. */
export async function insertMeter(db: pg.Pool | pg.PoolClient, m: NewMeter): Promise<MeterRow | null> {
  const intervalSeconds = m.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
  const maxKw = m.maxKw ?? DEFAULT_MAX_KW;
  // refuses floats and junk before they reach NUMERIC (the CHECKs guard the rest)
  if (!isValidIntervalSeconds(intervalSeconds)) throw new Error(`invalid interval_seconds ${intervalSeconds}`);
  kwhToBaseUnits(maxKw);
  const r = await db.query<MeterRow>(
    `INSERT INTO meters (id, owner_wallet, public_key, interval_seconds, max_kw, mqtt_password_hash)
     VALUES ($1, $2, $3, $4, $5::numeric, $6) ON CONFLICT (id) DO NOTHING RETURNING ${COLUMNS}`,
    [m.id, m.ownerWallet, m.publicKey, intervalSeconds, maxKw, m.passwordHash],
  );
  return r.rows[0] ?? null;
}

export async function listMeters(db: pg.Pool, limit = 1000, offset = 0): Promise<MeterRow[]> {
  const r = await db.query<MeterRow>(`SELECT ${COLUMNS} FROM meters ORDER BY id LIMIT $1 OFFSET $2`, [limit, offset]);
  return r.rows;
}

export async function getMeter(db: pg.Pool | pg.PoolClient, id: string): Promise<MeterRow | null> {
  const r = await db.query<MeterRow>(`SELECT ${COLUMNS} FROM meters WHERE id = $1`, [id]);
  return r.rows[0] ?? null;
}

export async function setMeterStatus(db: pg.Pool, id: string, status: 'active' | 'suspended'): Promise<MeterRow | null> {
  const r = await db.query<MeterRow>(
    `UPDATE meters SET status = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, status],
  );
  return r.rows[0] ?? null;
}

/**
 * A meter's interval and rated power after registration (e.g. a meter that reports every 5 minutes
 * but was registered, or upgraded by migration 005, at the 900 s default). Checked by the caller;
 * null when there is no such meter. Running gateways see it within their meter-cache TTL.
 */
export async function setMeterRating(db: pg.Pool, id: string, r: { intervalSeconds?: number; maxKw?: string }): Promise<MeterRow | null> {
  const res = await db.query<MeterRow>(
    `UPDATE meters SET interval_seconds = coalesce($2, interval_seconds), max_kw = coalesce($3::numeric, max_kw), updated_at = now()
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, r.intervalSeconds ?? null, r.maxKw ?? null],
  );
  return res.rows[0] ?? null;
}

/** A new MQTT password for a meter (hash only); null when there is no such meter. */
export async function setPasswordHash(db: pg.Pool, id: string, passwordHash: string): Promise<MeterRow | null> {
  const r = await db.query<MeterRow>(
    `UPDATE meters SET mqtt_password_hash = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, passwordHash],
  );
  return r.rows[0] ?? null;
}

export async function getPasswordHash(db: pg.Pool, id: string): Promise<string | null> {
  const r = await db.query<{ h: string }>('SELECT mqtt_password_hash AS h FROM meters WHERE id = $1', [id]);
  return r.rows[0]?.h ?? null;
}

/** Lines of a Mosquitto password file (`id:$7$…`) for every active meter. */
export async function mosquittoPasswordLines(db: pg.Pool): Promise<string[]> {
  const r = await db.query<{ id: string; h: string }>(
    "SELECT id, mqtt_password_hash AS h FROM meters WHERE status = 'active' ORDER BY id",
  );
  return r.rows.map((row) => `${row.id}:${row.h}`);
}

/** NUMERIC(20,9) text ("400.000000000") → canonical decimal ("400"). */
const kwString = (numeric: string) => baseUnitsToKwh(numericToBaseUnits(numeric));

/** The public shape of a meter, as the CLI and the admin API show it (no credential). */
export function meterView(m: MeterRow) {
  return {
    id: m.id,
    wallet: m.owner_wallet,
    pubkey: m.public_key,
    status: m.status,
    interval_seconds: m.interval_seconds,
    max_kw: kwString(m.max_kw),
    // derived, read-only: the per-reading cap these two settings imply
    max_kwh_per_interval: maxKwhPerInterval(kwString(m.max_kw), m.interval_seconds),
    created_at: m.created_at.toISOString(),
    last_seen_at: m.last_seen_at?.toISOString() ?? null,
    ...registerView(m),
  };
}

/** Register fields of the public view (interval meters show reads: interval and nulls). */
function registerView(m: MeterRow) {
  return {
    reads: m.reads,
    format: m.format,
    register_modulus: kwhView(m.register_modulus),
    initial_register: kwhView(m.initial_register),
    obis: m.obis,
    serial: m.serial,
    on_hold_since: m.hold_since?.toISOString() ?? null,
  };
}

export function toSnapshot(row: MeterRow): MeterSnapshot {
  return {
    id: row.id,
    ownerWallet: row.owner_wallet,
    publicKey: row.public_key,
    status: row.status,
    intervalSeconds: row.interval_seconds,
    maxKw: kwString(row.max_kw),
    ...(row.reads === 'register' ? { register: { format: row.format, obis: row.obis, serial: row.serial } } : {}),
  };
}

/** Snapshots for the meters among `ids` that exist (unknown ids are simply absent). */
export async function getMeterSnapshots(db: pg.Pool, ids: string[]): Promise<Map<string, MeterSnapshot>> {
  const r = await db.query<MeterRow>(`SELECT ${COLUMNS} FROM meters WHERE id = ANY($1::text[])`, [ids]);
  return new Map(r.rows.map((row) => [row.id, toSnapshot(row)]));
}

/** Active meters that reported in the last 7 days but not in the last hour (alert: stale meter). */
export async function countStaleMeters(db: pg.Pool): Promise<number> {
  const r = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM meters
     WHERE status = 'active' AND last_seen_at > now() - interval '7 days' AND last_seen_at < now() - interval '1 hour'`,
  );
  return Number(r.rows[0]!.n);
}

export interface OwnerReadingRow {
  id: string;
  meter_id: string;
  kwh_amount: string;
  timestamp: Date;
  minted: boolean;
  mint_tx_signature: string | null;
  certificate_id: string | null;
  received_at: Date;
}

/**
 * Readings of the meters a wallet owns, newest first (the prosumer's "my readings"). A reading is
 * accepted only when its wallet_address is its meter's owner (wallet_mismatch otherwise), so the
 * (wallet_address, timestamp DESC) index walks them newest first and stops after one page; the
 * join keeps the meaning "meters this wallet owns". Joining from meters instead sorted every
 * reading of every owned meter on each request.
 */
export async function listReadingsOfOwner(db: pg.Pool, ownerWallet: string, limit: number, offset: number): Promise<OwnerReadingRow[]> {
  const r = await db.query<OwnerReadingRow>(
    `SELECT r.id, r.meter_id, r.kwh_amount::text AS kwh_amount, r."timestamp", r.minted, r.mint_tx_signature,
            r.certificate_id, r.received_at
       FROM meter_readings r JOIN meters m ON m.id = r.meter_id
      WHERE r.wallet_address = $1 AND m.owner_wallet = $1
      ORDER BY r."timestamp" DESC, r.id DESC LIMIT $2 OFFSET $3`,
    [ownerWallet, limit, offset],
  );
  return r.rows;
}

const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const jsonText = (col: string) => `coalesce(to_json(${col})::text, 'null')`;

// Each item is concatenated text, not json_build_object: half the CPU per row (json_build_object
// goes through a generic per-value path; here only the two free-text fields are JSON-escaped, by
// to_json, and the rest are digits, fixed words and booleans spelled out: boolean text is t/f).
const MY_READINGS_SQL = `SELECT coalesce('[' || string_agg(concat(
        '{"id":"', r.id, '","meter_id":', to_json(r.meter_id), ',"kwh_amount":"', trim_scale(r.kwh_amount),
        '","timestamp":"', ${iso('r."timestamp"')}, '","minted":', CASE WHEN r.minted THEN 'true' ELSE 'false' END,
        ',"mint_tx_signature":', ${jsonText('r.mint_tx_signature')}, ',"certificate_id":', ${jsonText('r.certificate_id')},
        ',"received_at":"', ${iso('r.received_at')}, '"}'
      ), ',' ORDER BY r."timestamp" DESC, r.id DESC) || ']', '[]') AS items
       FROM (SELECT r.* FROM meter_readings r
              WHERE r.wallet_address = $1 AND (SELECT m.owner_wallet FROM meters m WHERE m.id = r.meter_id) = $1
              ORDER BY r."timestamp" DESC, r.id DESC LIMIT $2 OFFSET $3) r`;

/**
 * The same page as listReadingsOfOwner, as the JSON array the API answers, built by Postgres:
 * one text value instead of 50 parsed rows (dates, numerics) re-serialised in node, which was
 * most of this route's CPU time under load (bench:api profile). Field for field the route's view
 * of a row: kWh without trailing zeros (trim_scale, as baseUnitsToKwh), times in UTC with
 * milliseconds, truncated as a JS Date truncates microseconds. A test compares the two.
 */
export async function listReadingsJsonOfOwner(db: pg.Pool, ownerWallet: string, limit: number, offset: number): Promise<string> {
  // Named: each pooled connection parses and plans it once (planning cost more than running it).
  // The ownership test is a scalar subquery, not a join, so that PostgreSQL's generic plan (wallet
  // and LIMIT unknown) also walks the (wallet_address, timestamp, id) index newest first: with the
  // join, the generic plan sorted every reading of the owner's meters, 172 ms instead of 0.7 ms on
  // the bench's seed (BENCH_API_EXPLAIN=1 shows both plans).
  const r = await db.query<{ items: string }>({ name: 'api-my-readings', text: MY_READINGS_SQL, values: [ownerWallet, limit, offset] });
  return r.rows[0]!.items;
}
