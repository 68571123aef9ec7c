import type pg from 'pg';

export interface OperatorMintRow {
  id: string;
  outbox_id: string;
  wallet_address: string;
  amount: string;
  reason: string;
  requested_by: string;
  created_at: Date;
}

/** Inserted inside recordOutbox's DB transaction, so the request and its transaction commit together. */
export async function insertOperatorMint(
  c: pg.PoolClient,
  m: { outboxId: string; wallet: string; amountKwh: string; reason: string; requestedBy: string },
): Promise<OperatorMintRow> {
  const r = await c.query<OperatorMintRow>(
    `INSERT INTO operator_mints (outbox_id, wallet_address, amount, reason, requested_by)
     VALUES ($1, $2, $3::numeric, $4, $5)
     RETURNING id, outbox_id, wallet_address, amount::text AS amount, reason, requested_by, created_at`,
    [m.outboxId, m.wallet, m.amountKwh, m.reason, m.requestedBy],
  );
  return r.rows[0]!;
}
