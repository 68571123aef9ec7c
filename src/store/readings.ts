import type pg from 'pg';
import type { Stored } from '../domain/outcome.js';

/** A verified reading ready to store; `idx` is its position in the batch (echoed back). */
export interface ReadingRow {
  idx: number;
  meterId: string;
  wallet: string;
  /** exact decimal string, passed to Postgres as NUMERIC text — never a float */
  kwh: string;
  /** RFC 3339 as signed; Postgres parses and compares it as timestamptz */
  timestamp: string;
  signature: string;
  receivedAt: Date;
}

/**
 * Inserts verified readings in one statement and classifies every row. The unique key
 * (meter_id, "timestamp") decides; a row that was not inserted is a `duplicate` when the stored
 * signature equals its signature (ed25519 is deterministic, so same signature = same signed
 * content) and a `conflict` refusal, naming the stored reading, otherwise. Postgres compares the timestamps, so "…T13:00:00+02:00"
 * and "…T11:00:00Z" are the same interval (but different signed bytes, hence a conflict).
 *
 * The first statement only matches each input row against `ins` (the rows it inserted): that is
 * every row in the common case, and it costs no extra index probe per row. Two copies in one
 * batch match the same `ins` row: the first with the same signature is `accepted`, the rest are
 * duplicates or conflicts. Rows not inserted (stored before, or committed meanwhile by another
 * transaction) are resolved by a second statement, which under READ COMMITTED sees them.
 */
export async function insertReadings(client: pg.PoolClient, rows: ReadingRow[]): Promise<Map<number, Stored>> {
  const out = new Map<number, Stored>();
  if (rows.length === 0) return out;
  const r = await client.query<{ idx: number; sig: string; new_id: string | null; new_sig: string | null }>(
    `WITH input AS (
       SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::numeric[], $5::timestamptz[], $6::text[], $7::timestamptz[])
         AS t(idx, meter_id, wallet, kwh, ts, sig, received_at)
     ), ins AS (
       INSERT INTO meter_readings (meter_id, wallet_address, kwh_amount, "timestamp", signature, received_at)
       SELECT meter_id, wallet, kwh, ts, sig, received_at FROM input ORDER BY idx
       ON CONFLICT (meter_id, "timestamp") DO NOTHING
       RETURNING id, meter_id, "timestamp", signature
     )
     SELECT input.idx, input.sig, ins.id AS new_id, ins.signature AS new_sig
     FROM input
     LEFT JOIN ins ON ins.meter_id = input.meter_id AND ins."timestamp" = input.ts
     ORDER BY input.idx`,
    [
      rows.map((x) => x.idx),
      rows.map((x) => x.meterId),
      rows.map((x) => x.wallet),
      rows.map((x) => x.kwh),
      rows.map((x) => x.timestamp),
      rows.map((x) => x.signature),
      rows.map((x) => x.receivedAt),
    ],
  );
  const claimed = new Set<string>();
  const unresolved: ReadingRow[] = [];
  const byIdx = new Map(rows.map((x) => [x.idx, x]));
  for (const row of r.rows) {
    const id = row.new_id;
    const storedSig = row.new_sig;
    if (id === null || storedSig === null) {
      unresolved.push(byIdx.get(row.idx)!);
      continue;
    }
    const input = byIdx.get(row.idx)!;
    if (storedSig !== row.sig) out.set(row.idx, conflict(input, id));
    else if (!claimed.has(id)) {
      claimed.add(id);
      out.set(row.idx, stored('accepted', id));
    } else out.set(row.idx, stored('duplicate', id));
  }
  if (unresolved.length) {
    const again = await client.query<{ idx: number; id: string; same: boolean }>(
      `SELECT t.idx, m.id, m.signature = t.sig AS same
       FROM unnest($1::int[], $2::text[], $3::timestamptz[], $4::text[]) AS t(idx, meter_id, ts, sig)
       JOIN meter_readings m ON m.meter_id = t.meter_id AND m."timestamp" = t.ts`,
      [unresolved.map((x) => x.idx), unresolved.map((x) => x.meterId), unresolved.map((x) => x.timestamp), unresolved.map((x) => x.signature)],
    );
    for (const row of again.rows) out.set(row.idx, row.same ? stored('duplicate', row.id) : conflict(byIdx.get(row.idx)!, row.id));
    if (out.size !== rows.length) throw new Error('reading neither inserted nor found after ON CONFLICT; retrying the batch');
  }
  return out;
}

function stored(outcome: 'accepted' | 'duplicate', readingId: string): Stored {
  return { ok: true, outcome, readingId, detail: null, notes: [] };
}

function conflict(row: ReadingRow, storedId: string): Stored {
  return { ok: false, reason: 'conflict', detail: `reading ${storedId} is already stored for ${row.meterId} at ${row.timestamp} with different content` };
}

/** Sets last_seen_at for meters that sent something (the caller throttles how often). */
export async function markMetersSeen(client: pg.PoolClient, meterIds: string[], at: Date): Promise<void> {
  if (meterIds.length === 0) return;
  await client.query(
    'UPDATE meters SET last_seen_at = GREATEST(last_seen_at, $2::timestamptz) WHERE id = ANY($1::text[])',
    [meterIds, at],
  );
}
