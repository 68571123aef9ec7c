import type pg from 'pg';

export interface OperatorMintRow {
  id: string;
  outbox_id: string;
  wallet_address: string;
  amount: string;
  reason: string;
  requested_by: string;
  idempotency_key: string | null;
  created_at: Date;
}

/** Idempotency keys are kept at least this long; older rows are purged. */
export const IDEMPOTENCY_RETENTION_DAYS = 7;

const COLUMNS = `id, outbox_id, wallet_address, amount::text AS amount, reason, requested_by, idempotency_key, created_at`;

/**
 * Inserted inside recordOutbox's DB transaction, so the request, its idempotency key and its
 * transaction commit together. A second request with the same key fails here on the key's
 * primary key (after waiting for the first to commit) and records nothing.
 */
export async function insertOperatorMint(
  c: pg.PoolClient,
  m: { outboxId: string; wallet: string; amountKwh: string; reason: string; requestedBy: string; idempotencyKey: string; requestHash: string },
): Promise<OperatorMintRow> {
  const r = await c.query<OperatorMintRow>(
    `INSERT INTO operator_mints (outbox_id, wallet_address, amount, reason, requested_by, idempotency_key)
     VALUES ($1, $2, $3::numeric, $4, $5, $6)
     RETURNING ${COLUMNS}`,
    [m.outboxId, m.wallet, m.amountKwh, m.reason, m.requestedBy, m.idempotencyKey],
  );
  const row = r.rows[0]!;
  await c.query(
    `INSERT INTO operator_mint_requests (idempotency_key, requested_by, request_hash, operator_mint_id) VALUES ($1, $2, $3, $4)`,
    [m.idempotencyKey, m.requestedBy, m.requestHash, row.id],
  );
  return row;
}

/** What an earlier request with the same idempotency key did, and where its transaction stands. */
export interface KeyedOperatorMint {
  request_hash: string;
  response: Record<string, unknown> | null;
  operator_mint_id: string;
  outbox_id: string;
  outbox_status: 'pending' | 'sent' | 'confirmed' | 'expired' | 'failed';
  signature: string;
  total_base_units: string;
  wallet_address: string;
  reason: string;
}

export async function findByIdempotencyKey(pool: pg.Pool, key: string): Promise<KeyedOperatorMint | null> {
  const r = await pool.query<KeyedOperatorMint>(
    `SELECT q.request_hash, q.response, p.id AS operator_mint_id, o.id AS outbox_id, o.status AS outbox_status,
            o.signature, o.total_base_units::text AS total_base_units, p.wallet_address, p.reason
     FROM operator_mint_requests q JOIN operator_mints p ON p.id = q.operator_mint_id JOIN mint_outbox o ON o.id = p.outbox_id
     WHERE q.idempotency_key = $1`,
    [key],
  );
  return r.rows[0] ?? null;
}

/** Stores the settled answer for replays. */
export async function storeKeyedResponse(pool: pg.Pool, key: string, response: Record<string, unknown>): Promise<void> {
  await pool.query(`UPDATE operator_mint_requests SET response = $2::jsonb WHERE idempotency_key = $1`, [key, JSON.stringify(response)]);
}

/**
 * Frees a key whose transaction provably minted nothing (failed or expired), so a retry with the
 * same key mints; conditional on that outcome so a live mint's key is never released.
 */
export async function releaseFailedKey(pool: pg.Pool, key: string): Promise<void> {
  await pool.query(
    `DELETE FROM operator_mint_requests q USING operator_mints p, mint_outbox o
     WHERE q.idempotency_key = $1 AND p.id = q.operator_mint_id AND o.id = p.outbox_id AND o.status IN ('failed', 'expired')`,
    [key],
  );
}

/** Drops keys older than the retention; run before a key is looked up, so an expired key is simply new. */
export async function purgeIdempotencyKeys(pool: pg.Pool): Promise<number> {
  const r = await pool.query(`DELETE FROM operator_mint_requests WHERE created_at <= now() - make_interval(days => $1)`, [IDEMPOTENCY_RETENTION_DAYS]);
  return r.rowCount ?? 0;
}

export interface AuditedOperatorMint {
  id: string;
  created_at: string;
  requested_by: string;
  idempotency_key: string | null;
  reason: string;
  wallet_address: string;
  amount: string;
  status: string;
  signature: string;
}

/** Every operator mint ever recorded, oldest first, for `gridmint token audit`. */
export async function listOperatorMints(pool: pg.Pool): Promise<AuditedOperatorMint[]> {
  const r = await pool.query<Omit<AuditedOperatorMint, 'created_at'> & { created_at: Date }>(
    `SELECT p.id, p.created_at, p.requested_by, p.idempotency_key, p.reason, p.wallet_address, p.amount::text AS amount, o.status, o.signature
     FROM operator_mints p JOIN mint_outbox o ON o.id = p.outbox_id ORDER BY p.id`,
  );
  return r.rows.map((x) => ({ ...x, created_at: x.created_at.toISOString() }));
}
