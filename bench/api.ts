/**
 * `npm run bench:api` — the HTTP API against the local PostgreSQL with seeded data.
 *
 * The server runs in a child process (so the load generator does not share its event loop) on a fresh
 * database `gridmint_bench_*` (dropped afterwards). Scenarios, each after 3 s of unrecorded warm-up:
 *   1. GET /api/erc/my-certificates at a fixed 1,000 req/s (50 connections), then flat out
 *   2. GET /api/meters/my-readings and GET /api/erc/:id (certificate detail) at 1,000 req/s
 *   3. GET /api/tokens/balance/:wallet at 1,000 req/s: one wallet, then 2,000 distinct wallets
 *      (balance cache BALANCE_CACHE_MS, default 2000, in front of the embedded ledger)
 *   4. POST /api/erc/issue at fixed concurrency, each request certifying a fresh (meter, hour)
 * Fixed-rate scenarios are paced (bench/lib/paced-load.ts): open loop, requests evenly spaced, each
 * latency counted from when the request was due. BENCH_API_LOAD=autocannon runs them with
 * autocannon's overallRate instead, as results before 2026-11-30 22:00 were (a burst of the whole
 * second's quota at the start of each second; see paced-load.ts). Flat-out scenarios and the POST
 * use autocannon. Besides latency, each reports the server side's CPU per request (gateway process and the
 * PostgreSQL backends of its database, from /proc): on a shared machine latency mostly measures
 * the neighbours, CPU per request the code. Writes bench/results/api-<label->?<timestamp>.json.
 *
 * The server runs as the daemon does by default: LOG_LEVEL info (its stdout, /dev/null here,
 * written asynchronously) and a pool of 10. BENCH_LOG_LEVEL and BENCH_PG_POOL change them;
 * BENCH_API_LABEL names the result file (e.g. "before", to compare builds run alternately).
 * BENCH_API_EXPLAIN=1 prints EXPLAIN ANALYZE of the three database reads on the seeded data first.
 * BENCH_API_ONLY=<substring>[|<substring>…] runs only the scenarios whose name contains one (e.g.
 * "@1000" for the fixed-rate ones).
 * BENCH_API_CPU_PROF=<dir> runs the server under `node --cpu-prof` and writes its .cpuprofile
 * there on exit; `npx tsx bench/cpuprofile-summary.ts <file>` prints where the time went.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Keypair } from '@solana/web3.js';
import pg from 'pg';
import { signToken } from '../src/api/auth.js';
import { startNodeFlags } from '../test/harness/index.js';
import { createLogger } from '../src/logger.js';
import { migrate } from '../src/store/migrate.js';
import { measure, type Figures, type Scenario } from './lib/api-load.js';
import { createCpuMeter, explain, type CpuMeter } from './lib/api-measure.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const SECRET = randomBytes(32).toString('base64url');
const METERS = 500;
const HOURS = 100;
const WALLETS = 2_000;
const CERTS_PER_WALLET = 10;

function dbUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function seed(url: string, meWallet: string): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const wallets = [meWallet, ...Array.from({ length: WALLETS - 1 }, () => Keypair.generate().publicKey.toBase58())];
  const pub = Keypair.generate().publicKey.toBase58();
  // Historical certificates (already issued) for the list endpoint: one meter per wallet.
  await pool.query(
    `INSERT INTO meters (id, owner_wallet, public_key, mqtt_password_hash) SELECT 'hist-' || i, w, $2, 'x' FROM unnest($1::text[]) WITH ORDINALITY AS t(w, i)`,
    [wallets, pub],
  );
  await pool.query(
    `INSERT INTO erc_certificates (certificate_id, meter_id, issued_to_wallet, owner_wallet, period_start, period_end, kwh_amount,
       reading_count, reading_ids, issuer_user_id, issuer_wallet, issuer_name, issued_at, metadata, content_hash)
     SELECT 'ERC-2024-' || lpad(((i - 1) * $2 + j)::text, 6, '0'), 'hist-' || i, w, w,
            timestamptz '2024-01-01' + j * interval '1 day', timestamptz '2024-01-01' + (j + 1) * interval '1 day',
            (j * 1.5)::numeric, 1, ARRAY[j]::bigint[], 'seed', $3, 'Seed Registry', timestamptz '2024-06-01' + j * interval '1 minute',
            '{"program":"seed"}', repeat('a', 64)
       FROM unnest($1::text[]) WITH ORDINALITY AS t(w, i), generate_series(1, $2) AS j`,
    [wallets, CERTS_PER_WALLET, pub],
  );
  // The benchmarked wallet holds a full page and more (60 certificates).
  await pool.query(
    `INSERT INTO erc_certificates (certificate_id, meter_id, issued_to_wallet, owner_wallet, period_start, period_end, kwh_amount,
       reading_count, reading_ids, issuer_user_id, issuer_wallet, issuer_name, issued_at, metadata, content_hash)
     SELECT 'ERC-2023-' || lpad(j::text, 6, '0'), 'hist-1', $1, $1, timestamptz '2023-01-01' + j * interval '1 day',
            timestamptz '2023-01-01' + (j + 1) * interval '1 day', 2.25, 1, ARRAY[j]::bigint[], 'seed', $2, 'Seed Registry',
            timestamptz '2023-06-01' + j * interval '1 minute', '{"program":"seed"}', repeat('b', 64)
       FROM generate_series(1, 50) AS j`,
    [meWallet, pub],
  );
  // Fresh meters with hourly readings for issuance.
  await pool.query(
    `INSERT INTO meters (id, owner_wallet, public_key, mqtt_password_hash) SELECT 'bench-' || i, $2, $3, 'x' FROM generate_series(1, $1) AS i`,
    [METERS, wallets[1], pub],
  );
  await pool.query(
    `INSERT INTO meter_readings (meter_id, wallet_address, kwh_amount, "timestamp", signature, received_at)
     SELECT 'bench-' || i, $3, 0.123456789, timestamptz '2025-01-01' + h * interval '1 hour' + interval '30 minutes', 'sig', now()
       FROM generate_series(1, $1) AS i, generate_series(0, $2 - 1) AS h`,
    [METERS, HOURS, wallets[1]],
  );
  await pool.query('ANALYZE');
  await pool.end();
  return wallets;
}

/** Child process: the API (erc, meters, and whatever balance route exists) on an ephemeral port. */
async function serve(url: string): Promise<void> {
  const { buildApp } = await import('../src/api/app.js');
  const { createAuthenticator } = await import('../src/api/auth.js');
  const { ercRoutes } = await import('../src/api/routes/erc.js');
  const { myReadingsRoutes } = await import('../src/api/routes/my-readings.js');
  const { createErcService } = await import('../src/erc/service.js');
  const { createMetrics } = await import('../src/metrics/registry.js');
  const { createPool } = await import('../src/store/pool.js');
  // As the daemon does (`gridmint start` with stdout not a terminal).
  const { asyncStdout } = await import('../src/logger.js');
  const logger = createLogger(process.env.BENCH_LOG_LEVEL ?? 'info', asyncStdout());
  const pool = createPool(url, Number(process.env.BENCH_PG_POOL ?? 10), logger);
  const metrics = createMetrics();
  const routes = [ercRoutes({ erc: createErcService({ pool, chain: null, metrics }), limits: {} }), myReadingsRoutes({ pool })];
  // The balance route (minting issue) reads the chain: wire it to an in-memory embedded ledger.
  let balance = 'registered';
  try {
    const { createLocalLedger } = await import('../src/chain/ledger/index.js');
    const { createChainClient } = await import('../src/chain/client.js');
    const { createMinter } = await import('../src/mint/minter.js');
    const { createTokenService, tokenBalanceCache } = await import('../src/mint/service.js');
    const { tokenRoutes } = await import('../src/api/routes/tokens.js');
    const ledger = createLocalLedger({ port: 0, logger });
    await ledger.start();
    const payer = Keypair.generate();
    const client = createChainClient({ rpcUrl: ledger.url, payer, logger, isLocal: true });
    await client.ensureFunded(10_000_000_000n);
    const minter = createMinter({ pool, chain: client, metrics, logger, payer, configuredMint: null, cluster: 'localnet', maxReadingsPerRun: 1000 });
    await minter.ensureMint();
    const balances = tokenBalanceCache({ minter: () => minter, chain: client, maxAgeMs: Number(process.env.BALANCE_CACHE_MS ?? 2000) });
    routes.push(tokenRoutes({ tokens: createTokenService({ minter, chain: client, pool, cluster: 'localnet', balances, operatorMintMaxTokens: 1000 }), limits: {} }));
  } catch (err) {
    balance = `not available: ${(err as Error).message}`;
  }
  const app = await buildApp({
    logger,
    metrics,
    auth: createAuthenticator({ secret: process.env.BENCH_JWT_SECRET!, publicKey: null, issuer: null }),
    routes,
    writeRateLimit: 10_000_000, // the bench measures the handler, not the limiter
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  // A normal exit on SIGTERM, so `--cpu-prof` writes its profile.
  process.once('SIGTERM', () => void app.close().finally(() => process.exit(0)));
  process.send!({ port: (app.server.address() as { port: number }).port, balance });
}

async function main(): Promise<void> {
  const name = `gridmint_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = dbUrl(name);
  let child: ChildProcess | null = null;
  try {
    await migrate(url, createLogger('warn'));
    const me = Keypair.generate().publicKey.toBase58();
    const t0 = Date.now();
    const wallets = await seed(url, me);
    console.log(`seeded ${WALLETS * CERTS_PER_WALLET} certificates, ${METERS * HOURS} readings in ${Date.now() - t0} ms`);

    if (process.env.BENCH_API_EXPLAIN) await explain(url, me, wallets[1]!);
    const prof = process.env.BENCH_API_CPU_PROF;
    // The daemon's own V8 flags (npm start's), so its garbage collector behaves as in production.
    const execArgv = ['--import', 'tsx', ...startNodeFlags(), ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [])];
    // The server's stdout (its request log at info) goes to /dev/null: written, as in production, not shown.
    child = fork(fileURLToPath(import.meta.url), ['serve', url], {
      env: { ...process.env, BENCH_JWT_SECRET: SECRET }, execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const { port, balance } = await new Promise<{ port: number; balance: string }>((resolve, reject) => {
      child!.once('message', (m) => resolve(m as { port: number; balance: string }));
      child!.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    const cpuMeter: CpuMeter = createCpuMeter(admin, name, child.pid!);
    const base = `http://127.0.0.1:${port}`;
    const userAuth = `Bearer ${signToken(SECRET, { sub: 'bench-user', role: 'user', wallet: me }, 3600)}`;
    const authAuth = `Bearer ${signToken(SECRET, { sub: 'bench-authority', role: 'rec_authority', wallet: me, name: 'Bench Registry' }, 3600)}`;
    const user = { authorization: userAuth };
    // The owner of the 500 issuance meters (50,000 readings) for my-readings: always a full page.
    const owner = { authorization: `Bearer ${signToken(SECRET, { sub: 'bench-owner', role: 'user', wallet: wallets[1]! }, 3600)}` };
    const only = process.env.BENCH_API_ONLY;
    const results: Figures[] = [];
    const fixed = (headers: Record<string, string>, path: (i: number) => string, duration = 15): Scenario => ({ base, headers, path, connections: 50, duration, rate: 1000 });
    const flatOut = (headers: Record<string, string>, path: (i: number) => string): Scenario => ({ base, headers, path, connections: 20, duration: 10, rate: null });
    const scenario = async (name: string, s: Scenario) => {
      if (only && !only.split('|').some((o) => name.includes(o))) return;
      await measure('warm-up', { ...s, duration: 3, rate: s.rate ?? 500 }, null);
      results.push(await measure(name, s, cpuMeter));
    };
    const list = () => '/api/erc/my-certificates?limit=50';
    await scenario('GET /api/erc/my-certificates @1000 req/s', fixed(user, list));
    await scenario('GET /api/erc/my-certificates max', flatOut(user, list));
    await scenario('GET /api/meters/my-readings @1000 req/s', fixed(owner, () => '/api/meters/my-readings?limit=50'));
    await scenario('GET /api/erc/:id @1000 req/s', fixed(user, () => '/api/erc/ERC-2023-000001'));
    if (balance === 'registered') {
      const one = () => `/api/tokens/balance/${me}`;
      await scenario('GET /api/tokens/balance/:wallet @1000 req/s', fixed(user, one, 10));
      await scenario('GET /api/tokens/balance/:wallet max', flatOut(user, one));
      // 2,000 distinct wallets, uniformly at random: the cache must absorb what one wallet cannot show.
      const many = () => `/api/tokens/balance/${wallets[Math.floor(Math.random() * wallets.length)]}`;
      await scenario('GET /api/tokens/balance/:wallet (2,000 wallets) @1000 req/s', fixed(user, many));
    } else {
      console.log(`GET /api/tokens/balance/:wallet ${balance} — not benchmarked`);
    }
    if (!only || only.split('|').some((o) => 'POST /api/erc/issue'.includes(o))) {
      // each request certifies a fresh (meter, hour)
      const body = (i: number) => {
        const start = new Date(Date.UTC(2025, 0, 1) + (Math.floor(i / METERS) % HOURS) * 3_600_000);
        return JSON.stringify({ meter_id: `bench-${(i % METERS) + 1}`, period_start: start.toISOString(), period_end: new Date(start.getTime() + 3_600_000).toISOString() });
      };
      const headers = { authorization: authAuth, 'content-type': 'application/json' };
      results.push(await measure('POST /api/erc/issue (fresh meter-hour each)', { base, headers, path: () => '/api/erc/issue', method: 'POST', body, connections: 10, duration: 10, rate: null }, cpuMeter));
    }
    console.table(results);
    const label = process.env.BENCH_API_LABEL ? `${process.env.BENCH_API_LABEL}-` : '';
    const file = `bench/results/api-${label}${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    const out = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      note: 'server in a child process (stdout to /dev/null), load generator in the parent (fixed rates: ' + (process.env.BENCH_API_LOAD === 'autocannon' ? 'autocannon overallRate' : 'paced, open loop') + '), same 2-core machine; local PostgreSQL; 3 s warm-up per scenario',
      label: process.env.BENCH_API_LABEL ?? null,
      load_average: os.loadavg(),
      server: { log_level: process.env.BENCH_LOG_LEVEL ?? 'info', pg_pool: Number(process.env.BENCH_PG_POOL ?? 10), cpu_profile: Boolean(process.env.BENCH_API_CPU_PROF) },
      seed: { certificates: WALLETS * CERTS_PER_WALLET, wallets: WALLETS, my_certificates: CERTS_PER_WALLET + 50, page_size: 50, readings: METERS * HOURS },
      balance_route: balance === 'registered' ? 'benchmarked against the embedded ledger (in-memory, same child process)' : balance,
      bar: 'p99 < 10 ms at 1,000 req/s (50 connections) for my-certificates, my-readings, certificate detail, and balances across 2,000 wallets',
      balance_cache_ms: Number(process.env.BALANCE_CACHE_MS ?? 2000),
      results,
    };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`wrote ${file}`);
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
if (process.argv[2] === 'serve') await serve(process.argv[3]!);
else await main();
