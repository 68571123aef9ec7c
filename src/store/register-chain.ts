import type pg from 'pg';
import { numericToBaseUnits } from '../domain/kwh.js';
import type { ChainStart, EnergyState, RegisterRead, RegisterResolution, RegisterRules } from '../domain/register.js';

/** A register meter's rules and stored reads from the last settled point on, locked for this transaction. */
export interface MeterChain {
  meterId: string;
  rules: RegisterRules;
  start: ChainStart;
  /** reads after start.prev, by time (loaded copies; compare with `loaded` to find changes) */
  window: RegisterRead[];
  loaded: Map<string, RegisterRead>;
  resolutions: RegisterResolution[];
  holdReadingId: string | null;
}

interface ReadRow {
  id: string;
  meter_id: string;
  /** epoch ms */
  ts: number;
  register_kwh: string;
  kwh_amount: string;
  energy_state: EnergyState;
  span_ms: number | null;
  frozen: boolean;
}

export function toRead(r: ReadRow): RegisterRead {
  return {
    key: r.id,
    tsMs: r.ts,
    register: numericToBaseUnits(r.register_kwh),
    energy: numericToBaseUnits(r.kwh_amount),
    state: r.energy_state,
    spanStartMs: r.span_ms,
    frozen: r.frozen,
  };
}

/** A locked meter: its rules and hold. */
interface MeterRow {
  meter_id: string;
  modulus: string | null;
  initial: string | null;
  max_kw: string | null;
  created_ms: number;
  hold_reading_id: string | null;
  hold_ms: number | null;
  holding: boolean;
}

/** One row of LOAD_WINDOWS: a meter's anchor, a read of its window, or one of its resolutions. */
interface WindowRow extends ReadRow {
  kind: 'anchor' | 'read' | 'resolution';
  res_kind: 'replace' | 'rebase' | null;
  final_register: string | null;
  new_initial: string | null;
}

// Epoch milliseconds, truncated as pg's Date parsing truncates (created_at and a resolution's
// time can carry microseconds); float8 holds them exactly, and no Date is built per row.
const MS = (col: string) => `trunc(extract(epoch FROM ${col}) * 1000)::float8`;

/**
 * Locks the meters in id order (LockRows sits above the sort), so two writers never deadlock.
 * holding: the meter is on hold and every new read of the batch comes after the hold began.
 * Nothing else is read here: under READ COMMITTED this statement's snapshot predates the lock,
 * so reads committed by a writer it waited for are invisible to it; LOAD_WINDOWS, a later
 * statement, sees them. Prepared statements (name) are parsed and planned once per connection.
 */
const LOCK_METERS = {
  name: 'gridmint-register-lock-meters',
  text: `SELECT meters.id AS meter_id, register_modulus::text AS modulus, initial_register::text AS initial, max_kw::text AS max_kw,
         ${MS('created_at')} AS created_ms, hold_reading_id::text, ${MS('hold_since')} AS hold_ms,
         (hold_since IS NOT NULL AND t.earliest > hold_since) AS holding
    FROM meters JOIN unnest($1::text[], $2::timestamptz[]) AS t(meter_id, earliest) ON t.meter_id = meters.id
   WHERE meters.reads = 'register' ORDER BY meters.id FOR UPDATE OF meters`,
};

/**
 * For the locked meters, in one round trip: each one's anchor (the last read before its earliest
 * new read that is neither held nor late; none when holding), its window (every read after the
 * anchor, or from just before the earliest new read when holding), locked, and its resolutions.
 * The window is a LATERAL subquery with FOR UPDATE, which the planner cannot flatten: one index
 * range scan per meter (rows locked meter by meter, by time), never a hash join over a scan of
 * the whole table (what a plain join got for its first, custom plans).
 */
const LOAD_WINDOWS = {
  name: 'gridmint-register-load-windows',
  text: `WITH t AS (SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::boolean[]) AS t(meter_id, earliest, holding)),
  a AS MATERIALIZED (
    SELECT t.*, x.id AS anchor_id, x."timestamp" AS anchor_ts, x.register_kwh AS anchor_register
      FROM t LEFT JOIN LATERAL (
        SELECT y.id, y."timestamp", y.register_kwh FROM meter_readings y
         WHERE NOT t.holding AND y.meter_id = t.meter_id AND y.register_kwh IS NOT NULL AND y."timestamp" < t.earliest
           AND y.energy_state NOT IN ('held', 'late')
         ORDER BY y."timestamp" DESC LIMIT 1) x ON true),
  w AS (
    SELECT r.* FROM a CROSS JOIN LATERAL (
      SELECT r.id, r.meter_id, r."timestamp", r.register_kwh, r.kwh_amount, r.energy_state, r.span_start,
             (r.minted OR r.mint_outbox_id IS NOT NULL OR r.certificate_id IS NOT NULL) AS frozen
        FROM meter_readings r
       WHERE r.meter_id = a.meter_id AND r.register_kwh IS NOT NULL
         AND r."timestamp" > CASE WHEN a.holding THEN a.earliest - interval '1 millisecond' ELSE coalesce(a.anchor_ts, '-infinity') END
       ORDER BY r."timestamp" FOR UPDATE) r)
  SELECT 'anchor' AS kind, meter_id, anchor_id::text AS id, ${MS('anchor_ts')} AS ts, anchor_register::text AS register_kwh,
         NULL AS kwh_amount, NULL AS energy_state, NULL::float8 AS span_ms, NULL::boolean AS frozen,
         NULL AS res_kind, NULL AS final_register, NULL AS new_initial
    FROM a WHERE anchor_id IS NOT NULL
  UNION ALL
  SELECT 'read', meter_id, id::text, ${MS('"timestamp"')}, register_kwh::text, kwh_amount::text, energy_state, ${MS('span_start')}, frozen,
         NULL, NULL, NULL
    FROM w
  UNION ALL
  SELECT 'resolution', a.meter_id, NULL, ${MS('r."at"')}, NULL, NULL, NULL, NULL, NULL,
         r.kind, r.final_register::text, r.new_initial::text
    FROM a JOIN register_resolutions r ON r.meter_id = a.meter_id
   WHERE NOT a.holding AND (a.anchor_ts IS NULL OR r."at" > a.anchor_ts)`,
};

/**
 * Locks the meters (in id order, so two writers never deadlock) and loads, per meter, the chain
 * from the last read before `earliest` that is neither held nor late: derivation before that
 * point cannot change. Window rows are locked too, so a mint claim or certificate waits for this
 * transaction instead of taking an energy that is about to be split. Two round trips (the batch's
 * write transaction is the ingest's one serial step, so each one costs throughput).
 */
export async function loadChains(c: pg.PoolClient, earliest: Map<string, number>): Promise<Map<string, MeterChain>> {
  const ids = [...earliest.keys()];
  const at = (id: string) => new Date(earliest.get(id)!).toISOString();
  const meters = (await c.query<MeterRow>({ ...LOCK_METERS, values: [ids, ids.map(at)] })).rows;
  const loaded = meters.length === 0 ? [] : (await c.query<WindowRow>({
    ...LOAD_WINDOWS,
    values: [meters.map((m) => m.meter_id), meters.map((m) => at(m.meter_id)), meters.map((m) => m.holding)],
  })).rows;
  const anchors = new Map<string, WindowRow>();
  const windows = new Map<string, RegisterRead[]>();
  const resolutions = new Map<string, RegisterResolution[]>();
  for (const row of loaded) {
    if (row.kind === 'anchor') anchors.set(row.meter_id, row);
    else if (row.kind === 'read') push(windows, row.meter_id, toRead(row));
    else {
      push(resolutions, row.meter_id, {
        kind: row.res_kind!,
        atMs: row.ts,
        finalRegister: row.final_register === null ? undefined : numericToBaseUnits(row.final_register),
        newInitial: row.new_initial === null ? undefined : numericToBaseUnits(row.new_initial),
      });
    }
  }
  const out = new Map<string, MeterChain>();
  for (const m of meters) {
    const anchor = anchors.get(m.meter_id);
    // the UNION's order is not guaranteed: windows and resolutions are sorted by time here
    const reads = (windows.get(m.meter_id) ?? []).sort((x, y) => x.tsMs - y.tsMs);
    out.set(m.meter_id, {
      meterId: m.meter_id,
      rules: {
        modulus: m.modulus === null ? null : numericToBaseUnits(m.modulus),
        initial: m.initial === null ? null : { register: numericToBaseUnits(m.initial), atMs: m.created_ms },
        maxKwBaseUnits: m.max_kw === null ? null : numericToBaseUnits(m.max_kw),
      },
      start: m.holding
        ? { prev: null, hold: { key: m.hold_reading_id!, tsMs: m.hold_ms! } }
        : { prev: anchor ? { tsMs: anchor.ts, register: numericToBaseUnits(anchor.register_kwh) } : null },
      window: reads,
      loaded: new Map(reads.map((r) => [r.key, r])),
      resolutions: (resolutions.get(m.meter_id) ?? []).sort((x, y) => x.atMs - y.atMs),
      holdReadingId: m.hold_reading_id,
    });
  }
  return out;
}

function push<T>(m: Map<string, T[]>, key: string, v: T): void {
  const list = m.get(key);
  if (list) list.push(v);
  else m.set(key, [v]);
}
