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
  /** epoch ms (float8: exact for millisecond times, and no Date to parse) */
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

/** One row of LOAD_CHAINS: a meter (with its anchor) or one of its window reads. */
interface LoadRow extends ReadRow {
  kind: 'meter' | 'read';
  modulus: string | null;
  initial: string | null;
  max_kw: string | null;
  created_ms: number;
  hold_reading_id: string | null;
  hold_ms: number | null;
  holding: boolean;
  resolved: boolean;
}

const MS = (col: string) => `(extract(epoch FROM ${col}) * 1000)::float8`;

/**
 * Locks the meters, finds each one's anchor and locks its window, in one round trip (the batch's
 * write transaction is the ingest's one serial step, so every round trip costs throughput).
 * - meters are locked in id order (LockRows above the sort), so two writers never deadlock; the
 *   UNION ALL's first branch reads the whole materialised `m` before the window branch runs, so all
 *   meters are locked before any read row, as with separate statements;
 * - holding: the meter is on hold and every new read of the batch comes after the hold began:
 *   the window starts just before the earliest new read and there is no anchor;
 * - anchor: the last read before the earliest new read that is neither held nor late;
 * - window: every read after the anchor (all of them without one), locked.
 * A prepared statement (name): parsed and planned once per connection.
 */
const LOAD_CHAINS = {
  name: 'gridmint-register-load-chains',
  text: `WITH t AS (SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS t(meter_id, earliest)),
  m AS MATERIALIZED (
    SELECT meters.id, register_modulus::text AS modulus, initial_register::text AS initial, max_kw::text AS max_kw,
           created_at, hold_reading_id, hold_since, t.earliest,
           (hold_since IS NOT NULL AND t.earliest > hold_since) AS holding,
           EXISTS (SELECT 1 FROM register_resolutions r WHERE r.meter_id = meters.id) AS resolved
      FROM meters JOIN t ON t.meter_id = meters.id
     WHERE meters.reads = 'register' ORDER BY meters.id FOR UPDATE OF meters),
  a AS MATERIALIZED (
    SELECT m.*, x.id AS anchor_id, x."timestamp" AS anchor_ts, x.register_kwh::text AS anchor_register
      FROM m LEFT JOIN LATERAL (
        SELECT y.id, y."timestamp", y.register_kwh FROM meter_readings y
         WHERE NOT m.holding AND y.meter_id = m.id AND y.register_kwh IS NOT NULL AND y."timestamp" < m.earliest
           AND y.energy_state NOT IN ('held', 'late')
         ORDER BY y."timestamp" DESC LIMIT 1) x ON true),
  w AS (
    SELECT r.id, r.meter_id, r."timestamp", r.register_kwh, r.kwh_amount, r.energy_state, r.span_start,
           (r.minted OR r.mint_outbox_id IS NOT NULL OR r.certificate_id IS NOT NULL) AS frozen
      FROM a JOIN meter_readings r ON r.meter_id = a.id AND r.register_kwh IS NOT NULL
       AND r."timestamp" > CASE WHEN a.holding THEN a.earliest - interval '1 millisecond' ELSE coalesce(a.anchor_ts, '-infinity') END
     ORDER BY r.meter_id, r."timestamp" FOR UPDATE OF r)
  SELECT 'meter' AS kind, id AS meter_id, modulus, initial, max_kw, ${MS('created_at')} AS created_ms,
         hold_reading_id::text, ${MS('hold_since')} AS hold_ms, holding, resolved,
         anchor_id::text AS id, ${MS('anchor_ts')} AS ts, anchor_register AS register_kwh,
         NULL AS kwh_amount, NULL AS energy_state, NULL::float8 AS span_ms, NULL::boolean AS frozen
    FROM a
  UNION ALL
  SELECT 'read', meter_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         id::text, ${MS('"timestamp"')}, register_kwh::text, kwh_amount::text, energy_state, ${MS('span_start')}, frozen
    FROM w`,
};

/**
 * Locks the meters (in id order, so two writers never deadlock) and loads, per meter, the chain
 * from the last read before `earliest` that is neither held nor late: derivation before that
 * point cannot change. Window rows are locked too, so a mint claim or certificate waits for this
 * transaction instead of taking an energy that is about to be split.
 */
export async function loadChains(c: pg.PoolClient, earliest: Map<string, number>): Promise<Map<string, MeterChain>> {
  const ids = [...earliest.keys()];
  const loaded = await c.query<LoadRow>({ ...LOAD_CHAINS, values: [ids, ids.map((id) => new Date(earliest.get(id)!).toISOString())] });
  const meters: LoadRow[] = [];
  const windows = new Map<string, RegisterRead[]>();
  for (const row of loaded.rows) {
    if (row.kind === 'meter') meters.push(row);
    else {
      const w = windows.get(row.meter_id) ?? [];
      w.push(toRead(row));
      windows.set(row.meter_id, w);
    }
  }
  // Most meters never had a hold resolved: skip the round trip when none of these has.
  const withResolutions = meters.filter((m) => m.resolved).map((m) => m.meter_id);
  const resolutions = withResolutions.length === 0 ? { rows: [] } : await c.query<{ meter_id: string; kind: 'replace' | 'rebase'; at: Date; final_register: string | null; new_initial: string | null }>(
    `SELECT meter_id, kind, "at", final_register::text AS final_register, new_initial::text AS new_initial
       FROM register_resolutions WHERE meter_id = ANY($1::text[]) ORDER BY "at"`,
    [withResolutions],
  );
  const out = new Map<string, MeterChain>();
  for (const m of meters) {
    const anchorMs = m.ts; // null without an anchor (and when holding)
    // the UNION's order is not guaranteed: sort each window by time
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
        : { prev: anchorMs !== null ? { tsMs: anchorMs, register: numericToBaseUnits(m.register_kwh) } : null },
      window: reads,
      loaded: new Map(reads.map((r) => [r.key, r])),
      resolutions: resolutions.rows
        .filter((r) => r.meter_id === m.meter_id && !m.holding && (anchorMs === null || r.at.getTime() > anchorMs))
        .map((r) => ({
          kind: r.kind,
          atMs: r.at.getTime(),
          finalRegister: r.final_register === null ? undefined : numericToBaseUnits(r.final_register),
          newInitial: r.new_initial === null ? undefined : numericToBaseUnits(r.new_initial),
        })),
      holdReadingId: m.hold_reading_id,
    });
  }
  return out;
}
