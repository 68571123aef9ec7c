import type pg from 'pg';

/** Reading columns the minter needs; kWh stays the NUMERIC's exact decimal string. */
export interface MintCandidate {
  id: string;
  wallet_address: string;
  kwh_amount: string;
}

// kwh_amount > 0 everywhere below: register reads that earn nothing (baseline, held, late) are
// never minted and must not count as backlog.
/**
 * Unminted readings not held by an unresolved outbox row, oldest first. Read without locks: the
 * claim happens later, conditionally, in recordOutbox — a reading taken meanwhile by someone
 * else makes that claim fail and the batch is rebuilt.
 */
export async function selectMintCandidates(pool: pg.Pool, limit: number): Promise<MintCandidate[]> {
  const r = await pool.query<MintCandidate>(
    `SELECT id, wallet_address, kwh_amount::text AS kwh_amount FROM meter_readings
     WHERE NOT minted AND kwh_amount > 0 AND mint_outbox_id IS NULL ORDER BY id LIMIT $1`,
    [limit],
  );
  return r.rows;
}

export interface ReadingMintState extends MintCandidate {
  minted: boolean;
  mint_outbox_id: string | null;
  mint_tx_signature: string | null;
}

export async function getReadingMintState(pool: pg.Pool, id: string): Promise<ReadingMintState | null> {
  const r = await pool.query<ReadingMintState>(
    `SELECT id, wallet_address, kwh_amount::text AS kwh_amount, minted, mint_outbox_id, mint_tx_signature
     FROM meter_readings WHERE id = $1`,
    [id],
  );
  return r.rows[0] ?? null;
}

export interface UnmintedStats {
  /** exact NUMERIC sum as text */
  kwh: string;
  oldestReceivedAt: Date | null;
}

export async function unmintedStats(pool: pg.Pool): Promise<UnmintedStats> {
  const r = await pool.query<{ kwh: string; oldest: Date | null }>(
    `SELECT coalesce(sum(kwh_amount), 0)::text AS kwh, min(received_at) AS oldest
     FROM meter_readings WHERE NOT minted AND kwh_amount > 0`,
  );
  const row = r.rows[0]!;
  return { kwh: row.kwh, oldestReceivedAt: row.oldest };
}

export interface UnmintedRow {
  id: string;
  meter_id: string;
  wallet_address: string;
  kwh_amount: string;
  timestamp: Date;
  received_at: Date;
  mint_outbox_id: string | null;
  pending_signature: string | null;
}

export async function listUnminted(pool: pg.Pool, limit: number, offset: number): Promise<{ rows: UnmintedRow[]; total: number }> {
  const [rows, total] = await Promise.all([
    pool.query<UnmintedRow>(
      `SELECT m.id, m.meter_id, m.wallet_address, m.kwh_amount::text AS kwh_amount, m."timestamp", m.received_at,
              m.mint_outbox_id, o.signature AS pending_signature
       FROM meter_readings m LEFT JOIN mint_outbox o ON o.id = m.mint_outbox_id
       WHERE NOT m.minted AND m.kwh_amount > 0 ORDER BY m.id LIMIT $1 OFFSET $2`,
      [limit, offset],
    ),
    pool.query<{ n: string }>('SELECT count(*) AS n FROM meter_readings WHERE NOT minted AND kwh_amount > 0'),
  ]);
  return { rows: rows.rows, total: Number(total.rows[0]!.n) };
}

/** Of `ids`, the readings still unminted and unclaimed (after a claim lost a race). */
export async function stillClaimable(pool: pg.Pool, ids: string[]): Promise<MintCandidate[]> {
  const r = await pool.query<MintCandidate>(
    `SELECT id, wallet_address, kwh_amount::text AS kwh_amount FROM meter_readings
     WHERE id = ANY($1::bigint[]) AND NOT minted AND kwh_amount > 0 AND mint_outbox_id IS NULL ORDER BY id`,
    [ids],
  );
  return r.rows;
}
