import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/load.js';
import type { Started } from './lib/component.js';
import { buildApp } from './api/app.js';
import { createAuthenticator } from './api/auth.js';
import type { ApiDeps } from './api/deps.js';
import { resolveJwtKeys } from './api/jwt-keys.js';
import { apiRoutes } from './api/routes/index.js';
import { startErc } from './erc/start.js';
import { startIngest } from './ingest/index.js';
import { createMetrics, type Metrics } from './metrics/registry.js';
import { startProbe } from './metrics/probe.js';
import { registerRegisterGauges } from './ingest/register-gauges.js';
import { countMissingIntervals } from './store/missing-intervals.js';
import { connectChain } from './mint/connect.js';
import { startMinting } from './mint/start.js';
import { brokerAccess, startProvisioner } from './ingest/meter-provisioner.js';
import { createMeterRegistry } from './ingest/meter-registry.js';
import { startEmbeddedPostgres } from './store/embedded.js';
import { countStaleMeters } from './store/meters.js';
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

/**
 * Crash tests only (NODE_ENV=test): SIGKILL this process at a named mint step
 * (recorded | sent | finalized) to prove the outbox recovers from each.
 */
function testCrashHook(config: Config): ((step: string) => void) | undefined {
  const at = config.NODE_ENV === 'test' ? process.env.GRIDMINT_TEST_CRASH_AT : undefined;
  return at ? (step) => void (step === at && process.kill(process.pid, 'SIGKILL')) : undefined;
}

/**
 * The composition root: config → database → broker/ingest → chain → jobs → API. Nothing else
 * wires components together. Stop runs in reverse: stop taking requests and messages, flush
 * what is in flight, stop jobs, close the pool, stop the embedded database.
 */
export async function startGateway(config: Config, logger: Logger): Promise<Gateway> {
  const log = logger.child({ component: 'main' });
  // Everything started here follows one contract (lib/component.ts): start(deps) → { stop() }.
  const started: Array<{ name: string } & Started> = [];
  /** Records a started part under a name; it is stopped in reverse order of starting. */
  const track = async <S extends Started>(name: string, starting: Promise<S>): Promise<S> => {
    const s = await starting;
    started.push({ name, stop: () => s.stop() });
    return s;
  };
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
    // Resolved first: production without a JWT key must fail before anything starts.
    const auth = createAuthenticator(await resolveJwtKeys(config));

    // 1. database
    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      const embedded = await track('embedded-postgres', startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, logger }));
      databaseUrl = embedded.url;
    }
    await migrate(databaseUrl, logger);
    const pool = createPool(databaseUrl, config.PG_POOL_SIZE, logger, () => metrics.dbErrors.inc({ operation: 'idle' }));
    await track('pg-pool', Promise.resolve({ stop: () => pool.end() }));
    registerRegisterGauges(metrics.registry, pool);

    // One database probe for both /health/ready and the periodic gauge refresh below.
    const probeDatabase = async () => {
      const up = await ping(pool);
      metrics.dbUp.set(up ? 1 : 0);
      return up;
    };
    const readinessChecks: Record<string, () => Promise<boolean> | boolean> = { database: probeDatabase };
    const urls: Gateway['urls'] = { http: '', mqtt: null, ledger: null, database: databaseUrl.replace(/:[^:@/]*@/, ':***@') };

    // 2. ingest — pushed after the pool, so it stops before it: stop taking messages, commit and
    // acknowledge what is in flight, close the broker or subscriber; then the pool closes.
    // With MQTT_DYNSEC the gateway provisions meters in Mosquitto itself (before it subscribes).
    const { provisioner } = await track('meter-provisioner', startProvisioner({ config, logger }));
    const ingest = await track('ingest', startIngest({ config, pool, metrics, logger }));
    urls.mqtt = ingest.mqttUrl;
    readinessChecks.broker = () => ingest.brokerUp();

    // 3. chain and minting: SOLANA_RPC_URL, or the embedded LiteSVM ledger on 127.0.0.1:LEDGER_PORT
    // (state under DATA_DIR/ledger) — the same JSON-RPC client either way.
    const chain = await track('chain', connectChain({ config, logger, ledger: 'start', onRpcError: (method) => metrics.chainRpcErrors.inc({ method }) }));
    if (chain.ledger) urls.ledger = chain.rpcUrl;
    const minting = await track('minting', startMinting({ config, pool, metrics, logger, chain, onStep: testCrashHook(config) }));

    // 4. certificates, anchored through the same chain client
    const erc = await track('erc', startErc({ pool, metrics, logger, chain: chain.client }));
    // The meter registry service: the same one `gridmint meter …` uses, provisioning through the
    // daemon's own dynsec connection.
    const meters = createMeterRegistry({ pool, broker: brokerAccess(provisioner) });

    // 5. health gauges stay current without anyone calling /health/ready (alert rules read them);
    // broker_up needs no polling: ingest sets it on every broker/subscriber state change.
    await track('probe', startProbe({ name: 'health-probe', everyMs: 15_000, tasks: [probeDatabase, async () => metrics.metersStale.set(await countStaleMeters(pool))] }));
    await track('gap probe', startProbe({
      name: 'gap-probe',
      everyMs: 60_000,
      tasks: [
        async () => {
          const gaps = await countMissingIntervals(pool);
          metrics.metersWithMissingIntervals.set(gaps.meters);
          metrics.missingIntervals.set(gaps.intervals);
        },
      ],
    }));

    // 6. HTTP API
    const readiness = {
      check: async () => {
        const entries = await Promise.all(Object.entries(readinessChecks).map(async ([k, f]) => [k, await f()] as const));
        return Object.fromEntries(entries);
      },
    };
    const api: ApiDeps = {
      pool,
      submit: {
        reading: (payload, meterId) => ingest.submitHttp(payload, meterId, 'readings'),
        ocmf: (payload, meterId) => ingest.submitHttp(payload, meterId, 'ocmf'),
      },
      tokens: minting.tokens,
      erc: erc.service,
      meters,
      metrics,
      readiness,
      limits: { publicPerMinute: config.RATE_LIMIT_PUBLIC_PER_MINUTE },
    };
    const app = await buildApp({
      logger,
      metrics,
      auth,
      routes: apiRoutes(api),
      writeRateLimit: config.RATE_LIMIT_WRITES_PER_MINUTE,
      trustProxy: config.HTTP_TRUST_PROXY,
    });
    await track('http', app.listen({ port: config.HTTP_PORT, host: config.HTTP_HOST }).then(() => ({ stop: () => app.close() })));
    const addr = app.server.address() as AddressInfo;
    urls.http = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    log.info({ urls }, 'gridmint gateway started');

    return { config, pool, metrics, app, urls, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
