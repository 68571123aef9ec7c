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
  timestamp: Date;
  register_kwh: string;
  kwh_amount: string;
  energy_state: EnergyState;
  span_start: Date | null;
  frozen: boolean;
}

export function toRead(r: ReadRow): RegisterRead {
  return {
    key: r.id,
    tsMs: r.timestamp.getTime(),
    register: numericToBaseUnits(r.register_kwh),
    energy: numericToBaseUnits(r.kwh_amount),
    state: r.energy_state,
    spanStartMs: r.span_start?.getTime() ?? null,
    frozen: r.frozen,
  };
}

const READ_COLUMNS = `r.id, r.meter_id, r."timestamp", r.register_kwh::text AS register_kwh, r.kwh_amount::text AS kwh_amount,
  r.energy_state, r.span_start, (r.minted OR r.mint_outbox_id IS NOT NULL OR r.certificate_id IS NOT NULL) AS frozen`;

/**
 * Locks the meters (in id order, so two writers never deadlock) and loads, per meter, the chain
 * from the last read before `earliest` that is neither held nor late: derivation before that
 * point cannot change. Window rows are locked too, so a mint claim or certificate waits for this
 * transaction instead of taking an energy that is about to be split.
 */
export async function loadChains(c: pg.PoolClient, earliest: Map<string, number>): Promise<Map<string, MeterChain>> {
  const ids = [...earliest.keys()].sort();
  const meters = await c.query<{ id: string; modulus: string | null; initial: string | null; max_kw: string | null; created_at: Date; hold_reading_id: string | null; hold_since: Date | null; resolved: boolean }>(
    `SELECT id, register_modulus::text AS modulus, initial_register::text AS initial, max_kw::text AS max_kw, created_at, hold_reading_id, hold_since,
            EXISTS (SELECT 1 FROM register_resolutions r WHERE r.meter_id = meters.id) AS resolved
       FROM meters WHERE id = ANY($1::text[]) AND reads = 'register' ORDER BY id FOR UPDATE`,
    [ids],
  );
  const found = meters.rows.map((m) => m.id);
  // A meter on hold whose new reads all come after the hold began: every one of them is held and
  // nothing before changes, so only reads from the earliest new one on are needed (no anchor walk
  // back through a long hold).
  const holding = new Map<string, { key: string; tsMs: number }>();
  for (const m of meters.rows) {
    if (m.hold_reading_id && m.hold_since && earliest.get(m.id)! > m.hold_since.getTime()) holding.set(m.id, { key: m.hold_reading_id, tsMs: m.hold_since.getTime() });
  }
  const anchored = found.filter((id) => !holding.has(id));
  const anchors = await c.query<ReadRow>(
    `SELECT ${READ_COLUMNS} FROM unnest($1::text[], $2::timestamptz[]) AS t(meter_id, before)
       JOIN LATERAL (SELECT * FROM meter_readings x
                      WHERE x.meter_id = t.meter_id AND x.register_kwh IS NOT NULL AND x."timestamp" < t.before
                        AND x.energy_state NOT IN ('held', 'late')
                      ORDER BY x."timestamp" DESC LIMIT 1) r ON true`,
    [anchored, anchored.map((id) => new Date(earliest.get(id)!))],
  );
  const anchorOf = new Map(anchors.rows.map((a) => [a.meter_id, a]));
  const window = await c.query<ReadRow>(
    `SELECT ${READ_COLUMNS} FROM unnest($1::text[], $2::timestamptz[]) AS t(meter_id, after)
       JOIN meter_readings r ON r.meter_id = t.meter_id AND r.register_kwh IS NOT NULL
        AND (t.after IS NULL OR r."timestamp" > t.after)
      ORDER BY r.meter_id, r."timestamp" FOR UPDATE OF r`,
    [found, found.map((id) => (holding.has(id) ? new Date(earliest.get(id)! - 1) : (anchorOf.get(id)?.timestamp ?? null)))],
  );
  // Most meters never had a hold resolved: skip the round trip when none of these has.
  const withResolutions = meters.rows.filter((m) => m.resolved).map((m) => m.id);
  const resolutions = withResolutions.length === 0 ? { rows: [] } : await c.query<{ meter_id: string; kind: 'replace' | 'rebase'; at: Date; final_register: string | null; new_initial: string | null }>(
    `SELECT meter_id, kind, "at", final_register::text AS final_register, new_initial::text AS new_initial
       FROM register_resolutions WHERE meter_id = ANY($1::text[]) ORDER BY "at"`,
    [withResolutions],
  );
  const out = new Map<string, MeterChain>();
  for (const m of meters.rows) {
    const anchor = anchorOf.get(m.id);
    const rows = window.rows.filter((r) => r.meter_id === m.id);
    const reads = rows.map(toRead);
    out.set(m.id, {
      meterId: m.id,
      rules: {
        modulus: m.modulus === null ? null : numericToBaseUnits(m.modulus),
        initial: m.initial === null ? null : { register: numericToBaseUnits(m.initial), atMs: m.created_at.getTime() },
        maxKwBaseUnits: m.max_kw === null ? null : numericToBaseUnits(m.max_kw),
      },
      start: holding.has(m.id)
        ? { prev: null, hold: holding.get(m.id)! }
        : { prev: anchor ? { tsMs: anchor.timestamp.getTime(), register: numericToBaseUnits(anchor.register_kwh) } : null },
      window: reads,
      loaded: new Map(reads.map((r) => [r.key, r])),
      resolutions: resolutions.rows
        .filter((r) => r.meter_id === m.id && !holding.has(m.id) && (!anchor || r.at.getTime() > anchor.timestamp.getTime()))
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
