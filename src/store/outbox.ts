import type pg from 'pg';
import { withTransaction } from './pool.js';

/**
 * The mint outbox: every signed mint transaction is recorded here, with the readings it covers
 * claimed, in one committed DB transaction BEFORE it is sent. Every later transition is a
 * conditional update from an unresolved status, so two processes resolving the same row (a
 * reconcile racing a run, or two gateways) cannot both apply it.
 */
export type OutboxStatus = 'pending' | 'sent' | 'confirmed' | 'expired' | 'failed';

export interface NewOutboxTx {
  kind: 'readings' | 'operator';
  mintAddress: string;
  signature: string;
  blockhash: string;
  lastValidBlockHeight: number;
  bytes: Uint8Array;
  instructionCount: number;
  entries: { wallet: string; baseUnits: bigint }[];
  /** readings this transaction mints (kind 'readings'); claimed in the same DB transaction */
  readingIds: string[];
}

export interface OutboxRow {
  id: string;
  kind: 'readings' | 'operator';
  status: OutboxStatus;
  signature: string;
  blockhash: string;
  last_valid_block_height: string;
  tx_bytes: Buffer;
  instruction_count: number;
  total_base_units: string;
  send_attempts: number;
  rejected: boolean;
  error: string | null;
  created_at: Date;
}

const COLUMNS = `id, kind, status, signature, blockhash, last_valid_block_height, tx_bytes, instruction_count,
  total_base_units::text AS total_base_units, send_attempts, rejected, error, created_at`;

/**
 * Inserts the rows and claims their readings, all or nothing. Returns the new ids in input order,
 * or null when some reading was claimed or minted by someone else since it was read, or an
 * identical transaction was recorded by someone else (the caller re-reads and rebuilds; nothing
 * was written).
 */
export async function recordOutbox(
  pool: pg.Pool,
  txs: NewOutboxTx[],
  extra?: (client: pg.PoolClient, ids: string[]) => Promise<void>,
): Promise<string[] | null> {
  if (txs.length === 0) return [];
  class Conflict extends Error {}
  try {
    return await withTransaction(pool, async (c) => {
      const ins = await c.query<{ id: string; signature: string }>(
        `INSERT INTO mint_outbox (kind, mint_address, signature, blockhash, last_valid_block_height, tx_bytes,
                                  instruction_count, total_base_units)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bytea[], $7::int[], $8::numeric[])
         RETURNING id, signature`,
        [
          txs.map((t) => t.kind), txs.map((t) => t.mintAddress), txs.map((t) => t.signature), txs.map((t) => t.blockhash),
          txs.map((t) => t.lastValidBlockHeight), txs.map((t) => Buffer.from(t.bytes)), txs.map((t) => t.instructionCount),
          txs.map((t) => t.entries.reduce((s, e) => s + e.baseUnits, 0n).toString()),
        ],
      );
      const idBySig = new Map(ins.rows.map((r) => [r.signature, r.id]));
      const ids = txs.map((t) => idBySig.get(t.signature)!);
      const eIds: string[] = [], eWallets: string[] = [], eUnits: string[] = [];
      const rIds: string[] = [], rOutbox: string[] = [];
      txs.forEach((t, i) => {
        for (const e of t.entries) {
          eIds.push(ids[i]!); eWallets.push(e.wallet); eUnits.push(e.baseUnits.toString());
        }
        for (const r of t.readingIds) {
          rIds.push(r); rOutbox.push(ids[i]!);
        }
      });
      await c.query(
        `INSERT INTO mint_outbox_entries (outbox_id, wallet_address, base_units)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::numeric[])`,
        [eIds, eWallets, eUnits],
      );
      if (rIds.length > 0) {
        const claimed = await c.query(
          `UPDATE meter_readings m SET mint_outbox_id = v.oid, updated_at = now()
           FROM unnest($1::bigint[], $2::bigint[]) AS v(rid, oid)
           WHERE m.id = v.rid AND NOT m.minted AND m.mint_outbox_id IS NULL`,
          [rIds, rOutbox],
        );
        if (claimed.rowCount !== rIds.length) throw new Conflict();
      }
      await extra?.(c, ids);
      return ids;
    });
  } catch (err) {
    if (err instanceof Conflict || isSignatureTaken(err)) return null;
    throw err;
  }
}

/**
 * Two callers that build the same transfers against the same blockhash sign byte-identical
 * transactions, so the second insert hits the unique signature. That is the same race as a lost
 * claim: the first caller's row covers these readings, and nothing of ours was written.
 */
function isSignatureTaken(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' && e.constraint === 'mint_outbox_signature_key';
}

export async function markSent(pool: pg.Pool, id: string, refusal: string | null): Promise<void> {
  await pool.query(
    `UPDATE mint_outbox SET status = 'sent', send_attempts = send_attempts + 1,
       sent_at = coalesce(sent_at, now()), rejected = rejected OR $2::boolean,
       error = coalesce($3, error), updated_at = now()
     WHERE id = $1 AND status IN ('pending', 'sent')`,
    [id, refusal !== null, refusal],
  );
}

export interface Resolution {
  /** false when the row was already resolved by someone else (nothing changed) */
  applied: boolean;
  readings: number;
  totalBaseUnits: bigint;
  /** wallets the transaction minted to (confirmations only) */
  wallets: string[];
}

/** Finalized without error: the row is confirmed and its readings minted, in one DB transaction. */
export async function confirmOutbox(pool: pg.Pool, id: string, signature: string): Promise<Resolution> {
  return withTransaction(pool, async (c) => {
    const r = await c.query<{ total: string }>(
      `UPDATE mint_outbox SET status = 'confirmed', resolved_at = now(), updated_at = now(), error = NULL
       WHERE id = $1 AND signature = $2 AND status IN ('pending', 'sent') RETURNING total_base_units::text AS total`,
      [id, signature],
    );
    if (r.rowCount !== 1) return { applied: false, readings: 0, totalBaseUnits: 0n, wallets: [] };
    const w = await c.query<{ wallet_address: string }>('SELECT wallet_address FROM mint_outbox_entries WHERE outbox_id = $1', [id]);
    const m = await c.query(
      `UPDATE meter_readings SET minted = true, mint_tx_signature = $2, mint_timestamp = now(), updated_at = now()
       WHERE mint_outbox_id = $1 AND NOT minted`,
      [id, signature],
    );
    return { applied: true, readings: m.rowCount ?? 0, totalBaseUnits: BigInt(r.rows[0]!.total), wallets: w.rows.map((x) => x.wallet_address) };
  });
}

/** Proven unable to land (or landed with an error): the row is closed and its readings released. */
export async function releaseOutbox(pool: pg.Pool, id: string, status: 'expired' | 'failed', error: string | null): Promise<Resolution> {
  return withTransaction(pool, async (c) => {
    const r = await c.query<{ total: string }>(
      `UPDATE mint_outbox SET status = $2, resolved_at = now(), updated_at = now(), error = coalesce($3, error)
       WHERE id = $1 AND status IN ('pending', 'sent') RETURNING total_base_units::text AS total`,
      [id, status, error],
    );
    if (r.rowCount !== 1) return { applied: false, readings: 0, totalBaseUnits: 0n, wallets: [] };
    const m = await c.query(
      'UPDATE meter_readings SET mint_outbox_id = NULL, updated_at = now() WHERE mint_outbox_id = $1 AND NOT minted',
      [id],
    );
    return { applied: true, readings: m.rowCount ?? 0, totalBaseUnits: BigInt(r.rows[0]!.total), wallets: [] };
  });
}

export async function listUnresolved(pool: pg.Pool, limit = 10_000): Promise<OutboxRow[]> {
  const r = await pool.query<OutboxRow>(
    `SELECT ${COLUMNS} FROM mint_outbox WHERE status IN ('pending', 'sent') ORDER BY id LIMIT $1`,
    [limit],
  );
  return r.rows;
}
