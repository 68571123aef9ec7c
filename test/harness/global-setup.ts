import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/store/embedded.js';
import { createLogger } from '../../src/logger.js';
import { freePort } from './wait.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
  }
}

const LOCAL = 'postgresql://postgres@127.0.0.1:5432/postgres';

async function reachable(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}


let embedded: EmbeddedDatabase | null = null;
let dir: string | null = null;

/**
 * Tests use a real PostgreSQL: TEST_DATABASE_URL if given (CI points it at the local server),
 * else the local server on 5432 if it answers, else an embedded one started for this run — so
 * `npm test` passes on a fresh machine with no services installed.
 */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env.TEST_DATABASE_URL ?? null;
  if (!url && (await reachable(LOCAL))) url = LOCAL;
  if (!url) {
    dir = mkdtempSync(join(tmpdir(), 'gridmint-test-pg-'));
    console.log(`[tests] no PostgreSQL on 127.0.0.1:5432; starting an embedded one under ${dir}`);
    embedded = await startEmbeddedPostgres({ dataDir: dir, port: await freePort(), logger: createLogger('warn') });
    url = embedded.url.replace(/\/gridmint$/, '/postgres');
  }
  project.provide('adminDatabaseUrl', url);
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
