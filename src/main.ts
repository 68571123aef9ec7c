import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/load.js';
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
import { createTokenService } from './mint/service.js';
import { startMinting } from './mint/start.js';
import { startProvisioner } from './ingest/meter-provisioner.js';
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
    // Resolved first: production without a JWT key must fail before anything starts.
    const auth = createAuthenticator(await resolveJwtKeys(config));

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
    const provisioner = await startProvisioner(config, logger);
    if (provisioner) started.push({ name: 'meter-provisioner', stop: () => provisioner.close() });
    const ingest = await startIngest(config, pool, metrics, logger);
    started.push({ name: 'ingest', stop: ingest.stop });
    urls.mqtt = ingest.mqttUrl;
    readinessChecks.broker = () => ingest.brokerUp();

    // 3. chain and minting: SOLANA_RPC_URL, or the embedded LiteSVM ledger on 127.0.0.1:LEDGER_PORT
    // (state under DATA_DIR/ledger) — the same JSON-RPC client either way.
    const chain = await connectChain({ config, logger, ledger: 'start', onRpcError: (method) => metrics.chainRpcErrors.inc({ method }) });
    started.push({ name: 'chain', stop: chain.stop });
    if (chain.ledger) urls.ledger = chain.rpcUrl;
    const minting = await startMinting({ config, pool, metrics, logger, chain, onStep: testCrashHook(config) });
    started.push({ name: 'minting', stop: minting.stop });
    const tokenService = createTokenService(minting.minter, chain.payer, config.SOLANA_CLUSTER, {
      balanceCacheMs: config.BALANCE_CACHE_MS, operatorMintMaxTokens: config.OPERATOR_MINT_MAX_TOKENS,
    });

    // 4. certificates, anchored through the same chain client
    const erc = startErc({ pool, metrics, logger, chain: chain.client });
    started.push({ name: 'erc', stop: erc.stop });

    // 5. health gauges stay current without anyone calling /health/ready (alert rules read them);
    // broker_up needs no polling: ingest sets it on every broker/subscriber state change.
    const probe = startProbe(15_000, [probeDatabase, async () => metrics.metersStale.set(await countStaleMeters(pool))]);
    started.push({ name: 'probe', stop: async () => probe.stop() });
    const gapProbe = startProbe(60_000, [
      async () => {
        const gaps = await countMissingIntervals(pool);
        metrics.metersWithMissingIntervals.set(gaps.meters);
        metrics.missingIntervals.set(gaps.intervals);
      },
    ]);
    started.push({ name: 'gap probe', stop: async () => gapProbe.stop() });

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
      tokens: tokenService,
      erc: erc.service,
      provisioner,
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
