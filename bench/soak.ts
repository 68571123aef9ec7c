// npm run bench:soak — the compiled daemon ingesting a fixed rate for a long time (default 10
// minutes at 5,000 signed readings/s, 100 meters, embedded broker, minting on), sampled every
// second: RSS of the daemon's whole process group, V8 heap (used/total) and event-loop lag p99/max
// from its own /metrics, readings PUBACKed per second and their p99 publish → PUBACK. Writes
// bench/results/soak-<time>.json and a glanceable soak-<time>.svg next to it.
// SOAK_SECONDS, SOAK_RATE, SOAK_METERS, SOAK_MINT=false and SOAK_WORKERS shorten or vary it (a
// 30-second smoke: SOAK_SECONDS=30). The database is a fresh one on the local PostgreSQL
// (TEST_DATABASE_URL or 127.0.0.1:5432), dropped afterwards.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { generatePassword, hashPassword } from '../src/domain/credential.js';
import { generateMeterKey } from '../src/domain/sign.js';
import { createLogger } from '../src/logger.js';
import { insertMeter } from '../src/store/meters.js';
import { migrate } from '../src/store/migrate.js';
import { freePort, startDaemon, type Daemon } from '../test/harness/index.js';
import { groupRss } from './lib/group-rss.js';
import type { SoakPublisherInput, SoakTick } from './lib/soak-publisher.js';
import { plotSvg } from './lib/svg-plot.js';

const ADMIN = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const RATE = Number(process.env.SOAK_RATE ?? 5_000);
const METERS = Number(process.env.SOAK_METERS ?? 100);
const MINT = process.env.SOAK_MINT !== 'false';
const BUDGET_MIB = 200;

interface Sample {
  t: number;
  rss_mib: number;
  processes: number;
  heap_used_mib: number | null;
  heap_total_mib: number | null;
  lag_p99_ms: number | null;
  lag_max_ms: number | null;
}

async function scrape(httpUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(gridmint_nodejs_(?:heap_size_used_bytes|heap_size_total_bytes|eventloop_lag_p99_seconds|eventloop_lag_max_seconds)) (\S+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : null;
};
const r1 = (v: number | undefined | null) => (v === undefined || v === null || Number.isNaN(v) ? null : Math.round(v * 10) / 10);

const name = `gridmint_soak_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: ADMIN });
await admin.connect();
admin.on('error', () => {});
await admin.query(`CREATE DATABASE ${name}`);
const dbUrl = new URL(ADMIN);
dbUrl.pathname = `/${name}`;
const url = dbUrl.toString();
const dir = mkdtempSync(join(tmpdir(), 'gridmint-soak-'));
let daemon: Daemon | null = null;
const samples: Sample[] = [];
/** the publisher's own once-a-second reports (its clock starts with the first publish) */
const ticks: SoakTick[] = [];
let publisherDone = null as { sent: number; acked: number } | null;
try {
  await migrate(url, createLogger('warn'));
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {});
  const meters = [];
  for (let i = 0; i < METERS; i++) {
    const key = generateMeterKey();
    const password = generatePassword();
    const m = { id: `soak-${String(i).padStart(4, '0')}`, secretKey: [...key.secretKey], owner: generateMeterKey().publicKey, password };
    await insertMeter(pool, { id: m.id, ownerWallet: m.owner, publicKey: key.publicKey, intervalSeconds: 1, maxKw: '3600', passwordHash: hashPassword(password) });
    meters.push(m);
  }
  await pool.end();

  const env: Record<string, string> = {
    DATABASE_URL: url, HTTP_PORT: '0', LEDGER_PORT: '0', DATA_DIR: join(dir, 'data'), MINT_ENABLED: String(MINT),
    MQTT_HOST: '127.0.0.1', MQTT_PORT: String(await freePort()), LOG_LEVEL: 'info',
    // every soak meter connects at once from 127.0.0.1, unlike meters in the field
    MQTT_MAX_UNAUTHENTICATED_PER_IP: String(Math.max(METERS, 128)),
  };
  if (process.env.SOAK_WORKERS) env.INGEST_VERIFY_WORKERS = process.env.SOAK_WORKERS;
  // SOAK_NODE_ARGS e.g. "--heapsnapshot-signal=SIGUSR2" (then `kill -USR2 <pid>` writes a heap
  // snapshot into the checkout) or "--max-semi-space-size=4".
  daemon = await startDaemon(env, { timeoutMs: 60_000, nodeArgs: process.env.SOAK_NODE_ARGS?.split(' ').filter(Boolean) ?? [], entry: 'dist' });
  const http = daemon.urls.http;
  const pid = daemon.child.pid!;
  console.log(`[soak] daemon pid ${pid}; ${RATE}/s for ${SECONDS} s`);

  const inputFile = join(dir, 'publisher.json');
  const input: SoakPublisherInput = { url: daemon.urls.mqtt!, meters, rate: RATE, seconds: SECONDS, window: 200, tsBase: Math.floor(Date.now() / 1000) * 1000 - 12 * 3_600_000 }; // whole seconds: the meters' 1 s grid
  writeFileSync(inputFile, JSON.stringify(input), { mode: 0o600 });
  const publisher = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/soak-publisher.ts', inputFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const start = performance.now();
  createInterface({ input: publisher.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as SoakTick | { done: true; sent: number; acked: number };
    if ('done' in msg) publisherDone = msg;
    else ticks.push(msg);
  });
  const exited = new Promise<void>((resolve) => publisher.once('exit', () => resolve()));

  const sampler = setInterval(() => {
    const t = Math.round((performance.now() - start) / 100) / 10;
    const rss = groupRss(pid);
    scrape(http).then(
      (m) => samples.push({
        t, rss_mib: rss.mib, processes: rss.processes,
        heap_used_mib: r1(m.gridmint_nodejs_heap_size_used_bytes! / 1048576), heap_total_mib: r1(m.gridmint_nodejs_heap_size_total_bytes! / 1048576),
        lag_p99_ms: r1(m.gridmint_nodejs_eventloop_lag_p99_seconds! * 1000), lag_max_ms: r1(m.gridmint_nodejs_eventloop_lag_max_seconds! * 1000),
      }),
      () => samples.push({ t, rss_mib: rss.mib, processes: rss.processes, heap_used_mib: null, heap_total_mib: null, lag_p99_ms: null, lag_max_ms: null }),
    );
    const tick = ticks.at(-1);
    if (Math.round(t) % 30 === 0) console.log(`[soak] ${Math.round(t)} s: rss ${rss.mib} MiB, acked ${tick?.acked ?? '–'}/s, p99 ${tick?.p99_ms ?? '–'} ms, behind ${tick?.behind ?? '–'}`);
  }, 1000);
  await exited;
  clearInterval(sampler);
} finally {
  await daemon?.kill('SIGTERM');
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}

samples.sort((a, b) => a.t - b.t);
const rss = samples.map((s) => s.rss_mib);
const window = Math.max(1, Math.min(60, Math.floor(samples.length / 4)));
const summary = {
  seconds: SECONDS, rate: RATE, meters: METERS, mint_enabled: MINT, sent: publisherDone?.sent ?? null, acked: publisherDone?.acked ?? null,
  peak_rss_mib: Math.max(...rss), budget_mib: BUDGET_MIB,
  // flat = the last stretch is no higher than the first stretch after warm-up
  rss_median_first_mib: median(rss.slice(window, 2 * window)), rss_median_last_mib: median(rss.slice(-window)),
  heap_used_median_last_mib: median(samples.slice(-window).flatMap((s) => (s.heap_used_mib === null ? [] : [s.heap_used_mib]))),
  lag_p99_median_ms: median(samples.flatMap((s) => (s.lag_p99_ms === null ? [] : [s.lag_p99_ms]))),
  puback_p99_median_ms: median(ticks.flatMap((k) => (k.p99_ms === null ? [] : [k.p99_ms]))),
  publisher_max_behind: Math.max(0, ...ticks.map((k) => k.behind)),
};
console.table([summary]);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
mkdirSync('bench/results', { recursive: true });
const json = join('bench/results', `soak-${stamp}.json`);
writeFileSync(json, `${JSON.stringify({ machine: `${cpus().length} cores`, node: process.version, gateway: 'node dist/cli/index.js start, embedded broker and ledger, external PostgreSQL', summary, samples, publisher: ticks }, null, 2)}\n`);
const pts = (f: (s: Sample) => number | null) => samples.map((s) => [s.t, f(s)] as [number, number | null]);
const svg = plotSvg(`gridmint soak: ${RATE.toLocaleString('en')} readings/s for ${SECONDS} s`, `${METERS} meters, minting ${MINT ? 'on' : 'off'}, ${cpus().length} cores, ${process.version}, ${stamp}`, [
  { title: 'Memory', unit: 'MiB', limit: { value: BUDGET_MIB, label: `budget ${BUDGET_MIB} MiB` }, series: [
    { label: 'RSS, process group', color: '#1f77b4', points: pts((s) => s.rss_mib) },
    { label: 'V8 heap total (main)', color: '#ff7f0e', points: pts((s) => s.heap_total_mib) },
    { label: 'V8 heap used (main)', color: '#2ca02c', points: pts((s) => s.heap_used_mib) },
  ] },
  { title: 'Event-loop lag', unit: 'ms', series: [
    { label: 'p99 per second', color: '#9467bd', points: pts((s) => s.lag_p99_ms) },
    { label: 'max per second', color: '#8c564b', points: pts((s) => s.lag_max_ms) },
  ] },
  { title: 'Ingest', unit: 'readings/s', series: [{ label: 'PUBACKed per second', color: '#17becf', points: ticks.map((k) => [k.t, k.acked]) }] },
  { title: 'Publish → PUBACK', unit: 'ms', series: [{ label: 'p99 per second', color: '#d62728', points: ticks.map((k) => [k.t, k.p99_ms]) }] },
]);
writeFileSync(json.replace(/\.json$/, '.svg'), svg);
console.log(`[soak] written ${json} and ${json.replace(/\.json$/, '.svg')}`);
process.exit(0);
