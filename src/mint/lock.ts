import type pg from 'pg';

/** Advisory lock key (two int4s): 'mint' in ASCII, and 1 for the batch minter. */
const LOCK_CLASS = 0x6d696e74;
const LOCK_MINTER = 1;

export type Locked<T> = { acquired: true; value: T } | { acquired: false };

/**
 * Runs fn while holding the minter's session-level advisory lock on a connection of its own, so
 * only one minter runs across every gateway sharing the database. If this process dies, Postgres
 * drops the connection and with it the lock. The lock is an efficiency guard, not the safety
 * argument: every outbox transition is a conditional update that is safe without it.
 */
export async function withMintLock<T>(pool: pg.Pool, fn: () => Promise<T>): Promise<Locked<T>> {
  const client = await pool.connect();
  let broken = false;
  try {
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_CLASS, LOCK_MINTER]);
    if (!r.rows[0]?.ok) return { acquired: false };
    try {
      return { acquired: true, value: await fn() };
    } finally {
      try {
        await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, LOCK_MINTER]);
      } catch {
        broken = true; // a dead connection has released the lock already; do not reuse it
      }
    }
  } finally {
    client.release(broken);
  }
}
