import type pg from 'pg';
import { withTransaction } from './pool.js';

/** Address lookup tables and their create/extend transactions (migration 007). */

export interface LookupTableOp {
  id: string;
  table_address: string;
  kind: 'create' | 'extend';
  status: 'pending' | 'sent';
  signature: string;
  last_valid_block_height: string;
  tx_bytes: Buffer;
}

export interface NewLookupTableOp {
  tableAddress: string;
  kind: 'create' | 'extend';
  addresses: string[];
  signature: string;
  lastValidBlockHeight: number;
  bytes: Uint8Array;
}

/** The minter's tables for a mint, oldest first. */
export async function listLookupTables(pool: pg.Pool, mintAddress: string): Promise<string[]> {
  const r = await pool.query<{ address: string }>(
    'SELECT address FROM mint_lookup_tables WHERE mint_address = $1 ORDER BY created_at, address',
    [mintAddress],
  );
  return r.rows.map((x) => x.address);
}

/**
 * Records a signed create/extend transaction before it is sent; a 'create' also records the
 * table it creates. One DB transaction, so a table is never known without its creating op.
 */
export async function recordLookupTableOp(pool: pg.Pool, mintAddress: string, authority: string, op: NewLookupTableOp): Promise<string> {
  return withTransaction(pool, async (c) => {
    if (op.kind === 'create') {
      await c.query('INSERT INTO mint_lookup_tables (address, mint_address, authority) VALUES ($1, $2, $3)', [op.tableAddress, mintAddress, authority]);
    }
    const r = await c.query<{ id: string }>(
      `INSERT INTO mint_lookup_table_ops (table_address, kind, addresses, signature, last_valid_block_height, tx_bytes)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [op.tableAddress, op.kind, op.addresses, op.signature, op.lastValidBlockHeight, Buffer.from(op.bytes)],
    );
    return r.rows[0]!.id;
  });
}

export async function listUnresolvedLookupTableOps(pool: pg.Pool): Promise<LookupTableOp[]> {
  const r = await pool.query<LookupTableOp>(
    `SELECT id, table_address, kind, status, signature, last_valid_block_height::text, tx_bytes
     FROM mint_lookup_table_ops WHERE status IN ('pending', 'sent') ORDER BY id`,
  );
  return r.rows;
}

export async function markLookupTableOpSent(pool: pg.Pool, id: string): Promise<void> {
  await pool.query(`UPDATE mint_lookup_table_ops SET status = 'sent' WHERE id = $1 AND status = 'pending'`, [id]);
}

export async function resolveLookupTableOp(pool: pg.Pool, id: string, status: 'confirmed' | 'expired' | 'failed', error: string | null): Promise<void> {
  await pool.query(
    `UPDATE mint_lookup_table_ops SET status = $2, error = $3, resolved_at = now()
     WHERE id = $1 AND status IN ('pending', 'sent')`,
    [id, status, error],
  );
}
