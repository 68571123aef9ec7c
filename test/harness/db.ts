import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/store/migrate.js';
import { pgTypes } from '../../src/store/pool.js';
import { createLogger } from '../../src/logger.js';

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * A fresh database on the server at `adminUrl` (migrated unless `migrate: false`), with a pool
 * using the daemon's own type parsers; `drop()` removes it. No vitest here: benches use it too.
 */
export async function createDatabase(adminUrl: string, opts: { migrate?: boolean; poolSize?: number; prefix?: string } = {}): Promise<TestDatabase> {
  const name = `${opts.prefix ?? 'gridmint_test'}_${randomBytes(5).toString('hex')}`;
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = withDatabase(adminUrl, name);
  if (opts.migrate !== false) await migrate(url, createLogger('silent'));
  // The daemon's own type parsers (NUMERIC as an exact string), so tests read what it reads.
  const pool = new pg.Pool({ connectionString: url, types: pgTypes, max: opts.poolSize ?? 4 });
  // DROP … WITH (FORCE) at teardown terminates any connection still open; a client caught closing
  // at that moment reports it as an error, which is expected here and must not fail the run.
  pool.on('error', () => {});
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      const d = new pg.Client({ connectionString: adminUrl });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

/** A fresh, migrated database of its own for one test file, on the run's server (global-setup); dropped after. */
export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  // imported here, not at the top: benches import this module outside the test runner
  const { inject } = await import('vitest');
  return createDatabase(inject('adminDatabaseUrl'), opts);
}

/** How many rows `sql` returns (any SELECT; parameters as in pool.query). */
export async function count(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  const r = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM (${sql}) q`, params);
  return Number(r.rows[0]!.n);
}
