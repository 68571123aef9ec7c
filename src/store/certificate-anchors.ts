import type pg from 'pg';

/** Bookkeeping for the on-chain anchors of ERC certificates (used by src/erc/anchor.ts). */

export interface UnanchoredClaim {
  certificate_id: string;
  content_hash: string;
  /** attempts including this one */
  anchor_attempts: number;
}

/**
 * Claims up to `limit` unanchored certificates whose retry time has come, under a lease so two
 * gateways (or a crashed run) never send for the same row at the same time; SKIP LOCKED keeps
 * concurrent claimers from waiting on each other.
 */
export async function claimUnanchored(db: pg.Pool, limit: number, leaseMs: number): Promise<UnanchoredClaim[]> {
  const r = await db.query<UnanchoredClaim>(
    `UPDATE erc_certificates SET anchor_lease_until = now() + $2 * interval '1 millisecond', anchor_attempts = anchor_attempts + 1
      WHERE certificate_id IN (
        SELECT certificate_id FROM erc_certificates
         WHERE blockchain_tx_signature IS NULL AND anchor_next_attempt_at <= now()
           AND (anchor_lease_until IS NULL OR anchor_lease_until < now())
         ORDER BY anchor_next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING certificate_id, content_hash, anchor_attempts`,
    [limit, leaseMs],
  );
  return r.rows;
}

export async function markAnchored(db: pg.Pool, id: string, signature: string): Promise<void> {
  await db.query(
    `UPDATE erc_certificates SET blockchain_tx_signature = $2, anchored_at = now(), anchor_lease_until = NULL, anchor_last_error = NULL
      WHERE certificate_id = $1 AND blockchain_tx_signature IS NULL`,
    [id, signature],
  );
}

export async function markAnchorFailed(db: pg.Pool, id: string, error: string, retryInMs: number): Promise<void> {
  await db.query(
    `UPDATE erc_certificates SET anchor_lease_until = NULL, anchor_last_error = left($2, 500),
            anchor_next_attempt_at = now() + $3 * interval '1 millisecond'
      WHERE certificate_id = $1 AND blockchain_tx_signature IS NULL`,
    [id, error, retryInMs],
  );
}

export async function countUnanchored(db: pg.Pool): Promise<number> {
  const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM erc_certificates WHERE blockchain_tx_signature IS NULL');
  return r.rows[0]!.n;
}
