// npm run bench:ingest — sustained signed readings/s end to end, p50/p99 at a fixed 5k/s and the
// gateway's peak RSS (its whole process group, sampled), for the embedded aedes broker and for
// Mosquitto (spawned from the repo's mosquitto.conf). The gateway runs as the compiled daemon
// (`node dist/cli/index.js start`, as `npm start` runs it), the publisher in another process.
// Each mode gets a fresh database on the local Postgres (TEST_DATABASE_URL or 127.0.0.1:5432).
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { generatePassword, hashPassword } from '../src/domain/credential.js';
import { generateMeterKey } from '../src/domain/sign.js';
import { createLogger } from '../src/logger.js';
import { insertMeter, mosquittoPasswordLines } from '../src/store/meters.js';
import { migrate } from '../src/store/migrate.js';
import { registerRegistration } from '../src/domain/register-meter.js';
import { insertRegisterMeter } from '../src/store/register-meters.js';
import { freePort, startDaemon, startMosquitto, type Daemon } from '../test/harness/index.js';
import { createCpuMeter } from './lib/api-measure.js';
import { trackPeakRss } from './lib/group-rss.js';
import type { PublisherInput, PublisherResult } from './lib/publisher-protocol.js';
import { scrapeStages, stageQuantiles } from './lib/stage-times.js';

const ADMIN = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const METERS = Number(process.env.BENCH_METERS ?? 100);
const MAX_COUNT = Number(process.env.BENCH_COUNT ?? 80_000);
// BENCH_FIXED_RATE: the fixed-rate phase at another rate (e.g. one a loaded machine can sustain, to
// compare latency between builds); the issue's figure is 5,000/s.
const FIXED_RATE = Number(process.env.BENCH_FIXED_RATE ?? 5_000);
const FIXED_SECONDS = Number(process.env.BENCH_FIXED_SECONDS ?? 8); // smaller only for a smoke run
// The gateway's own default unless BENCH_WORKERS says otherwise.
const WORKERS = process.env.BENCH_WORKERS ?? String((JSON.parse(readFileSync('config/default.json', 'utf8')) as { INGEST_VERIFY_WORKERS: number }).INGEST_VERIFY_WORKERS);
// raw = bench/lib/raw-publisher.ts (mqtt-packet on raw sockets), mqttjs = bench/lib/publisher.ts.
const PUBLISHER = process.env.BENCH_PUBLISHER === 'mqttjs' ? 'bench/lib/publisher.ts' : 'bench/lib/raw-publisher.ts';

/** Runs the publisher process; resolves with its result and the time all rows were committed. */
async function publish(input: PublisherInput, dir: string, pool: pg.Pool, expectRows: number): Promise<PublisherResult & { committedPerSecond: number }> {
  const file = join(dir, `pub-${randomBytes(3).toString('hex')}.json`);
  writeFileSync(file, JSON.stringify(input), { mode: 0o600 });
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', PUBLISHER, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  // The publisher fails loudly (stderr, exit 2) rather than hang; never wait on a dead one.
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`bench publisher exited (${signal ?? `code ${code}`}) before answering; see its message above`))),
  );
  exited.catch(() => {});
  const next = () => Promise.race([new Promise<string>((resolve) => lines.once('line', resolve)), exited]);
  await next(); // ready: everything signed, all meters connected
  const before = Number((await pool.query('SELECT count(*) FROM meter_readings')).rows[0].count);
  const start = performance.now();
  child.stdin!.write('go\n');
  const result = JSON.parse(await next()) as PublisherResult;
  // Committed = rows in meter_readings (for Mosquitto the PUBACK only means the broker has it).
  let committedAt = performance.now();
  for (;;) {
    const n = Number((await pool.query('SELECT count(*) FROM meter_readings')).rows[0].count) - before;
    if (n >= expectRows) break;
    await new Promise((r) => setTimeout(r, 50));
    committedAt = performance.now();
    if (committedAt - start > 120_000) throw new Error(`only ${n} of ${expectRows} readings committed`);
  }
  child.stdin!.end();
  rmSync(file);
  return { ...result, committedPerSecond: Math.round(expectRows / Math.max(result.seconds, (committedAt - start) / 1000)) };
}

type Mode = 'embedded' | 'mosquitto' | 'register' | 'ocmf';

async function runMode(mode: Mode): Promise<Record<string, unknown> | null> {
  // register and ocmf: the embedded broker with register meters (issue 10), same figures as interval
  const kind = mode === 'register' || mode === 'ocmf' ? mode : 'interval';
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const name = `gridmint_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(ADMIN);
  u.pathname = `/${name}`;
  const url = u.toString();
  await migrate(url, createLogger('warn'));
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {}); // idle connections dropped at teardown must not crash the bench
  admin.on('error', () => {});
  const dir = mkdtempSync(join(tmpdir(), 'gridmint-bench-'));
  let daemon: Daemon | null = null;
  let mosq: Awaited<ReturnType<typeof startMosquitto>> = null;
  try {
    const meters = [];
    for (let i = 0; i < METERS; i++) {
      const key = generateMeterKey();
      const password = generatePassword();
      const m = { id: `bench-${String(i).padStart(4, '0')}`, secretKey: [...key.secretKey], owner: generateMeterKey().publicKey, password, ocmfKeyPem: undefined as string | undefined };
      const row = { id: m.id, ownerWallet: m.owner, publicKey: key.publicKey, intervalSeconds: 1, maxKw: '3600', passwordHash: hashPassword(password) };
      if (kind === 'interval') await insertMeter(pool, row);
      else {
        const ec = kind === 'ocmf' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : null;
        m.ocmfKeyPem = ec?.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
        const pub = ec ? ec.publicKey.export({ format: 'der', type: 'spki' }).toString('hex') : key.publicKey;
        const reg = registerRegistration({ reads: 'register', format: kind === 'ocmf' ? 'ocmf' : 'json', serial: kind === 'ocmf' ? m.id : undefined }, pub);
        if (!reg.ok) throw new Error(reg.message);
        await insertRegisterMeter(pool, { ...row, publicKey: reg.publicKey }, reg.profile);
      }
      meters.push(m);
    }
    const env: Record<string, string> = {
      DATABASE_URL: url, HTTP_PORT: '0', LEDGER_PORT: '0', DATA_DIR: join(dir, 'data'), MINT_ENABLED: 'false',
      INGEST_VERIFY_WORKERS: WORKERS, MQTT_HOST: '127.0.0.1', MQTT_PORT: String(await freePort()),
      // every bench meter connects at once from 127.0.0.1, unlike meters in the field
      MQTT_MAX_UNAUTHENTICATED_PER_IP: String(Math.max(METERS, 128)),
      // a lower pending limit makes the gateway shed load sooner (exercises the publisher's reconnect)
      ...(process.env.BENCH_MAX_PENDING ? { INGEST_MAX_PENDING: process.env.BENCH_MAX_PENDING } : {}),
    };
    let brokerUrl: string;
    if (mode === 'mosquitto') {
      const gwPassword = generatePassword();
      mosq = await startMosquitto([...(await mosquittoPasswordLines(pool)), `gridmint-gateway:${hashPassword(gwPassword)}`]);
      if (!mosq) return null;
      Object.assign(env, { MQTT_URL: mosq.gatewayUrl, MQTT_USERNAME: 'gridmint-gateway', MQTT_PASSWORD: gwPassword, MQTT_CLIENT_ID: `bench-gw-${process.pid}` });
      brokerUrl = mosq.url;
    }
    mkdirSync(env.DATA_DIR!, { recursive: true });
    // BENCH_PROFILE_DIR: a CPU profile per run; BENCH_NODE_ARGS: extra node flags for the daemon
    // (e.g. "--heapsnapshot-signal=SIGUSR2" or "--max-semi-space-size=8").
    const nodeArgs = [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...(process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [])];
    daemon = await startDaemon(env, { timeoutMs: 30_000, nodeArgs, entry: 'dist' });
    const rss = trackPeakRss(daemon.child.pid!);
    brokerUrl ??= daemon.urls.mqtt!;
    await new Promise((r) => setTimeout(r, 1000)); // subscriber connections up
    const latencyUntil = mode === 'mosquitto' ? 'status' : 'puback';
    const base = Math.floor(Date.now() / 1000) * 1000 - 6 * 3_600_000; // whole seconds: the meters' grid
    const sustained = await publish({ url: brokerUrl, meters, kind, count: MAX_COUNT, rate: 0, window: 200, latencyUntil, tsBase: base }, dir, pool, MAX_COUNT);
    const fixedCount = FIXED_RATE * FIXED_SECONDS;
    // CPU per reading in the fixed-rate phase: the gateway (all threads) and the PostgreSQL backends
    // of its database (the bench's own count(*) polling included, a few ms). Unlike latency, this
    // barely depends on what else the machine runs.
    const cpu = createCpuMeter(admin, name, daemon.child.pid!);
    const cpuBefore = await cpu.snapshot();
    const stagesBefore = await scrapeStages(daemon.urls.http!);
    const fixed = await publish({ url: brokerUrl, meters, kind, count: fixedCount, rate: FIXED_RATE, window: 10_000, latencyUntil, tsBase: base + 3_600_000 }, dir, pool, fixedCount);
    const cpuAfter = await cpu.snapshot();
    const stages = stageQuantiles(stagesBefore, await scrapeStages(daemon.urls.http!));
    const perReading = (pick: (pid: number) => boolean) =>
      Math.round(([...cpuAfter].filter(([pid]) => pick(pid)).reduce((sum, [pid, ms]) => sum + ms - (cpuBefore.get(pid) ?? 0), 0) * 1000) / fixedCount);
    const peak = rss.stop();
    return {
      mode, kind, meters: METERS, verify_workers: Number(WORKERS), publisher: PUBLISHER.replace('bench/lib/', ''), load_before: loadBefore,
      sustained_readings_per_second: sustained.committedPerSecond, sustained_count: MAX_COUNT,
      fixed_rate: FIXED_RATE, fixed_achieved_per_second: fixed.committedPerSecond,
      // connections the gateway closed at INGEST_MAX_PENDING; the publisher resent what was unacknowledged
      reconnects: (sustained.reconnects ?? 0) + (fixed.reconnects ?? 0), resent: (sustained.resent ?? 0) + (fixed.resent ?? 0),
      latency_until: latencyUntil, p50_ms: round(fixed.p50), p99_ms: round(fixed.p99),
      gateway_cpu_us_per_reading: perReading((pid) => pid === -1), postgres_cpu_us_per_reading: perReading((pid) => pid !== -1),
      peak_rss_mib: peak.peakMib, processes: peak.processes,
      // the gateway's own view of the fixed-rate phase: each stage's p50 / p99 bucket (its /metrics)
      stages_fixed_rate: stages,
    };
  } finally {
    await daemon?.kill('SIGTERM');
    // BENCH_DAEMON_LOG=<dir>: the daemon's whole output (e.g. with BENCH_NODE_ARGS=--trace-gc)
    if (daemon && process.env.BENCH_DAEMON_LOG) writeFileSync(join(process.env.BENCH_DAEMON_LOG, `daemon-${mode}-${Date.now()}.log`), daemon.output());
    await mosq?.stop();
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);

const modes = (process.env.BENCH_MODES ?? 'embedded,register,ocmf,mosquitto').split(',') as Mode[];
const rows = [];
for (const m of modes) {
  const r = await runMode(m);
  if (r) rows.push(r);
  else console.log(`[bench] ${m}: skipped (no mosquitto binary)`);
}
// Register and OCMF beside interval, as a ratio measured in the same run (machines vary): against
// the mean of this run's interval modes, so BENCH_MODES=embedded,register,embedded,register
// compares alternating runs on a machine whose load drifts.
const intervals = rows.filter((r) => r.mode === 'embedded').map((r) => r.sustained_readings_per_second as number);
const interval = intervals.length ? intervals.reduce((a, b) => a + b, 0) / intervals.length : undefined;
for (const r of rows) if (interval && (r.mode === 'register' || r.mode === 'ocmf')) r.ratio_to_interval = Math.round(((r.sustained_readings_per_second as number) / interval) * 100) / 100;
console.table(rows.map(({ stages_fixed_rate: _, ...r }) => r));
for (const r of rows) console.log(`[bench] ${r.mode}, fixed rate, inside the gateway (p50 / p99): ${Object.entries(r.stages_fixed_rate as Record<string, { p50: string; p99: string }>).map(([k, v]) => `${k} ${v.p50} / ${v.p99}`).join(', ')}`);
const out = join('bench/results', `ingest-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(out, `${JSON.stringify({ machine: `${cpus().length} cores`, node: process.version, gateway: 'node dist/cli/index.js start: HTTP API, embedded LiteSVM ledger, ingest; MINT_ENABLED=false (no mint job); peak RSS = sampled sum over the daemon process group', results: rows }, null, 2)}\n`);
console.log(`[bench] written ${out}`);
