import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
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

/** A fresh, migrated database of its own for one test file, on the real server; dropped after. */
export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const admin = inject('adminDatabaseUrl');
  const name = `gridmint_test_${randomBytes(5).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = withDatabase(admin, name);
  if (opts.migrate !== false) await migrate(url, createLogger('silent'));
  // The daemon's own type parsers (NUMERIC as an exact string), so tests read what it reads.
  const pool = new pg.Pool({ connectionString: url, types: pgTypes, max: 4 });
  // DROP … WITH (FORCE) at teardown terminates any connection still open; a client caught closing
  // at that moment reports it as an error, which is expected here and must not fail the run.
  pool.on('error', () => {});
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

/** How many rows `sql` returns (any SELECT; parameters as in pool.query). */
export async function count(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  const r = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM (${sql}) q`, params);
  return Number(r.rows[0]!.n);
}
