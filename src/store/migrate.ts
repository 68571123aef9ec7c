import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from 'pino';
import { pgTypes } from './pool.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/**
 * Applies pending migrations from migrations/*.sql. node-pg-migrate takes a Postgres advisory
 * lock and, in 'wait' mode, a second instance starting at the same moment waits for the first
 * instead of failing or applying the same files twice.
 */
export async function migrate(databaseUrl: string, logger: Logger): Promise<string[]> {
  const log = logger.child({ component: 'migrate' });
  if (await upToDate(databaseUrl)) return [];
  // node-pg-migrate stays resident once imported; most starts have nothing to apply.
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    databaseUrl: { connectionString: databaseUrl, types: pgTypes },
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    checkOrder: true,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    log: (msg: string) => log.debug(msg),
    verbose: false,
  });
  const names = applied.map((m) => m.name);
  if (names.length) log.info({ applied: names }, 'migrations applied');
  return names;
}

/** Exactly the files in migrations/ are recorded as applied (a missing table or any error: not known). */
async function upToDate(databaseUrl: string): Promise<boolean> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).map((f) => f.slice(0, -4));
  const client = new pg.Client({ connectionString: databaseUrl, types: pgTypes });
  client.on('error', () => {}); // a dropped connection surfaces as the query's rejection
  try {
    await client.connect();
    const { rows } = await client.query<{ name: string }>('SELECT name FROM pgmigrations');
    const applied = new Set(rows.map((r) => r.name));
    // Anything else (a pending file, a recorded one that is missing) is for node-pg-migrate to do or report.
    return applied.size === files.length && files.every((f) => applied.has(f));
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
