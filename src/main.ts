import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/load.js';
import { buildApp, type RouteModule } from './api/app.js';
import { createAuthenticator } from './api/auth.js';
import { resolveJwtKeys } from './api/jwt-keys.js';
import { systemRoutes } from './api/routes/system.js';
import { readingRoutes } from './api/routes/readings.js';
import { startIngest } from './ingest/index.js';
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
    // Pushed after the pool, so it stops before it: stop taking messages, commit and acknowledge
    // what is in flight, close the broker/subscriber — then the pool closes.
    const ingest = await startIngest(config, pool, metrics, logger);
    started.push({ name: 'ingest', stop: ingest.stop });
    urls.mqtt = ingest.mqttUrl;
    readinessChecks.broker = () => ingest.brokerUp();
    routes.push(readingRoutes((payload, meterId) => ingest.submitHttp(payload, meterId)));

    // 3. chain and minting — section owned by src/chain and src/mint
    // @@mint
    // One chain path: SOLANA_RPC_URL, or the embedded LiteSVM ledger on 127.0.0.1:LEDGER_PORT with
    // state under DATA_DIR/ledger. Pushed after the pool so stop order is mint job → ledger → pool.
    {
      const { connectChain } = await import('./mint/connect.js');
      const { createMinter } = await import('./mint/minter.js');
      const { MintSetupError } = await import('./mint/token.js');
      const { scheduleMinting } = await import('./mint/schedule.js');
      const { startGaugeRefresh } = await import('./mint/gauges.js');
      const { createTokenService } = await import('./mint/service.js');
      const { tokenRoutes } = await import('./api/routes/tokens.js');
      const chain = await connectChain({ config, logger, ledger: 'start', onRpcError: (method) => metrics.chainRpcErrors.inc({ method }) });
      started.push({ name: 'chain', stop: chain.stop });
      if (chain.ledger) urls.ledger = chain.rpcUrl;
      // Crash tests only: SIGKILL this process at a named mint step (recorded | sent | finalized).
      const crashAt = config.NODE_ENV === 'test' ? process.env.GRIDMINT_TEST_CRASH_AT : undefined;
      const minter = createMinter({
        pool, chain: chain.client, metrics, logger, payer: chain.payer, configuredMint: config.MINT_ADDRESS,
        cluster: config.SOLANA_CLUSTER, maxReadingsPerRun: config.MINT_MAX_READINGS_PER_RUN,
        hooks: crashAt ? { step: (step) => void (step === crashAt && process.kill(process.pid, 'SIGKILL')) } : undefined,
      });
      try {
        // First start creates (or records MINT_ADDRESS as) the mint; then outbox rows a crash left
        // unresolved are reconciled before anything new is built.
        const mint = await minter.ensureMint();
        await minter.reconcile();
        log.info({ mint: mint.mint_address, cluster: mint.cluster }, 'minting ready');
      } catch (err) {
        if (err instanceof MintSetupError) throw err; // misconfiguration: refuse to start
        log.error({ err }, 'chain not reachable at start-up; mint runs will retry');
      }
      const gauges = startGaugeRefresh(pool, metrics, () => chain.client.getBlockHeight());
      started.push({ name: 'mint-gauges', stop: async () => gauges.stop() });
      const job = config.MINT_ENABLED ? scheduleMinting(minter, config.MINT_SCHEDULE, logger) : null;
      started.push({ name: 'mint-job', stop: () => (job ? job.stop() : minter.stop()) });
      routes.push(tokenRoutes(createTokenService(minter, chain.payer, config.SOLANA_CLUSTER)));
    }

    // 4. HTTP API — feature routes are pushed onto `routes` above
    // @@api
    {
      // ERC certificates, the admin meter registry and my-readings. Anchors go through the chain the
      // mint section connected (urls.ledger) or SOLANA_RPC_URL; without one, certificates stay
      // pending and verify reports it. Dynamic imports keep this wiring inside its marker.
      const { createChainClient } = await import('./chain/client.js');
      const { loadOrCreateKeypair } = await import('./chain/keys.js');
      const { keypairPath } = await import('./mint/connect.js');
      const { createAnchorJob } = await import('./erc/anchor.js');
      const { createErcService } = await import('./erc/service.js');
      const { ercRoutes } = await import('./api/routes/erc.js');
      const { adminMeterRoutes } = await import('./api/routes/admin-meters.js');
      const { myReadingsRoutes } = await import('./api/routes/my-readings.js');
      const ercRpcUrl = urls.ledger ?? config.SOLANA_RPC_URL;
      const ercChain = ercRpcUrl
        ? createChainClient({
            rpcUrl: ercRpcUrl,
            payer: await loadOrCreateKeypair(keypairPath(config)),
            logger,
            onRpcError: (method) => metrics.chainRpcErrors.inc({ method }),
          })
        : null;
      if (!ercChain) log.warn('no chain RPC for ERC anchors: certificates will stay pending until one is configured');
      const ercAnchor = ercChain ? createAnchorJob({ pool, chain: ercChain, logger, metrics }) : null;
      const ercService = createErcService({ pool, chain: ercChain, metrics, onIssued: () => ercAnchor?.kick() });
      routes.push(ercRoutes({ pool, service: ercService }), adminMeterRoutes({ pool }), myReadingsRoutes({ pool }));
      if (ercAnchor) {
        ercAnchor.start();
        started.push({ name: 'erc-anchor', stop: () => ercAnchor.stop() });
      }
    }
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
