import pg from 'pg';
import type { Logger } from 'pino';

const asText = (v: string) => v;

/**
 * The type parsers of every connection gridmint opens, given to each pool and client explicitly
 * rather than through pg's process-wide setTypeParser: NUMERIC stays a string (exact kWh) even if
 * another module in the process registers a float parser for it. BIGINT (int8) ids stay strings
 * by pg's default, so no value passes through a JS float on its way out of the database.
 */
export const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.NUMERIC && format !== 'binary' ? asText : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export function createPool(url: string, size: number, logger: Logger, onError?: () => void): pg.Pool {
  const log = logger.child({ component: 'pg' });
  const pool = new pg.Pool({
    connectionString: url,
    types: pgTypes,
    max: size,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // Fail a query fast when the server is gone rather than queueing forever.
    query_timeout: 30_000,
    application_name: 'gridmint',
  });
  // An idle client losing its connection must not crash the daemon; the next query reconnects.
  pool.on('error', (err) => {
    onError?.();
    log.warn({ err: err.message }, 'idle database connection lost');
  });
  return pool;
}

/** Runs fn in a transaction on one pooled connection; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  // pg-pool removes its error listener while a client is checked out; a connection lost
  // mid-transaction would then emit an unhandled 'error' and crash the daemon. The failing query
  // rejects anyway, so just mark the client broken.
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

export async function ping(pool: pg.Pool): Promise<boolean> {
  try {
    await pool.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}
