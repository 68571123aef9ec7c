import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/load.js';
import { buildApp, type RouteModule } from './api/app.js';
import { createAuthenticator } from './api/auth.js';
import { resolveJwtKeys } from './api/jwt-keys.js';
import { systemRoutes } from './api/routes/system.js';
import { createMetrics, type Metrics } from './metrics/registry.js';
import { startEmbeddedPostgres } from './store/embedded.js';
import { migrate } from './store/migrate.js';
import { createPool, ping, type Pool } from './store/pool.js';

export interface Gateway {
  config: Config;
  pool: Pool;
  metrics: Metrics;
  app: FastifyInstance;
  /** base URLs of what this gateway listens on */
  urls: { http: string; mqtt: string | null; ledger: string | null; database: string };
  stop(): Promise<void>;
}

/** Something started by the composition root; stopped in reverse order of starting. */
interface Stoppable {
  name: string;
  stop(): Promise<void>;
}

/**
 * The composition root: config → database → broker/ingest → chain → jobs → API. Nothing else
 * wires components together. Stop runs in reverse: stop taking requests and messages, flush
 * what is in flight, stop jobs, close the pool, stop the embedded database.
 */
export async function startGateway(config: Config, logger: Logger): Promise<Gateway> {
  const log = logger.child({ component: 'main' });
  const started: Stoppable[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) {
      try {
        await s.stop();
        log.debug({ stopped: s.name }, 'stopped');
      } catch (err) {
        log.error({ err, component_stopping: s.name }, 'error while stopping');
      }
    }
    started.length = 0;
  };

  try {
    await mkdir(config.DATA_DIR, { recursive: true, mode: 0o750 });
    const metrics = createMetrics();

    // 1. database
    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      const embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT, logger);
      started.push({ name: 'embedded-postgres', stop: embedded.stop });
      databaseUrl = embedded.url;
    }
    await migrate(databaseUrl, logger);
    const pool = createPool(databaseUrl, config.PG_POOL_SIZE, logger, () => metrics.dbErrors.inc({ operation: 'idle' }));
    started.push({ name: 'pg-pool', stop: () => pool.end() });

    const routes: RouteModule[] = [];
    const readinessChecks: Record<string, () => Promise<boolean> | boolean> = {
      database: async () => {
        const up = await ping(pool);
        metrics.dbUp.set(up ? 1 : 0);
        return up;
      },
    };
    const urls: Gateway['urls'] = { http: '', mqtt: null, ledger: null, database: databaseUrl.replace(/:[^:@/]*@/, ':***@') };

    // 2. ingest (MQTT broker or subscriber, batch writer) — section owned by src/ingest
    // @@ingest

    // 3. chain and minting — section owned by src/chain and src/mint
    // @@mint

    // 4. HTTP API — feature routes are pushed onto `routes` above
    // @@api
    const auth = createAuthenticator(await resolveJwtKeys(config));
    const readiness = {
      check: async () => {
        const entries = await Promise.all(Object.entries(readinessChecks).map(async ([k, f]) => [k, await f()] as const));
        return Object.fromEntries(entries);
      },
    };
    const app = await buildApp({
      logger,
      metrics,
      auth,
      routes: [systemRoutes(metrics, readiness), ...routes],
      writeRateLimit: config.RATE_LIMIT_WRITES_PER_MINUTE,
    });
    await app.listen({ port: config.HTTP_PORT, host: config.HTTP_HOST });
    started.push({ name: 'http', stop: () => app.close() });
    const addr = app.server.address() as AddressInfo;
    urls.http = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    log.info({ urls }, 'gridmint gateway started');

    return { config, pool, metrics, app, urls, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
