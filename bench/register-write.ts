// npx tsx bench/register-write.ts — the write transaction alone (no broker, no verification):
// interval batches through insertReadings vs register batches through storeRegisterMessages, the
// same number of readings each, alternating. Per batch: wall ms, this process's CPU ms, the
// PostgreSQL backend's CPU ms (from /proc, so it must run beside the server) and round trips.
// CPU time is what a shared 2-core machine cannot take from the gateway, and it is far less
// sensitive to other load than a rate is. The write path runs from dist/ (as the daemon does):
// build first (npx tsc -p tsconfig.build.json).
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { generateMeterKey } from '../src/domain/sign.js';
import { createLogger } from '../src/logger.js';
import { insertMeter } from '../src/store/meters.js';
import { migrate } from '../src/store/migrate.js';
import { registerRegistration } from '../src/domain/register-meter.js';
import { insertRegisterMeter } from '../src/store/register-meters.js';
import type { ReadingRow } from '../src/store/readings.js';
import type { RegisterMessage } from '../src/store/register-reads.js';

const dist = <T>(path: string) => import(path) as Promise<T>;
const { pgTypes, withTransaction } = await dist<typeof import('../src/store/pool.js')>('../dist/store/pool.js');
const { insertReadings } = await dist<typeof import('../src/store/readings.js')>('../dist/store/readings.js');
const { storeRegisterMessages } = await dist<typeof import('../src/store/register-reads.js')>('../dist/store/register-reads.js');

const ADMIN = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const METERS = Number(process.env.BENCH_METERS ?? 100);
const PER_METER = Number(process.env.BENCH_PER_METER ?? 4); // reads per meter per batch
const BATCHES = Number(process.env.BENCH_BATCHES ?? 60);
// BENCH_ONLY=register (or interval): one mode, e.g. under --cpu-prof
const ONLY = process.env.BENCH_ONLY;
const TICK = 1000 / 100; // ms per clock tick in /proc/<pid>/stat (USER_HZ = 100)

const backendCpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK;
};

const name = `gridmint_regwrite_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: ADMIN });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const u = new URL(ADMIN);
u.pathname = `/${name}`;
await migrate(u.toString(), createLogger('warn'));
const pool = new pg.Pool({ connectionString: u.toString(), max: 1, types: pgTypes });
pool.on('error', () => {}); // the connection dropped by DROP DATABASE … FORCE at the end
try {
  const wallet = generateMeterKey().publicKey;
  for (let i = 0; i < METERS; i++) {
    const key = generateMeterKey();
    const row = { id: `iv-${i}`, ownerWallet: wallet, publicKey: key.publicKey, intervalSeconds: 1, maxKw: '3600', passwordHash: 'x' };
    await insertMeter(pool, row);
    const reg = registerRegistration({ reads: 'register', format: 'json' }, key.publicKey);
    if (!reg.ok) throw new Error(reg.message);
    await insertRegisterMeter(pool, { ...row, id: `rg-${i}` }, reg.profile);
  }
  const client = await pool.connect();
  const pid = (await client.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p;
  let trips = 0;
  const query = client.query.bind(client) as (...a: unknown[]) => unknown;
  (client as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => (trips++, query(...a));
  client.release();
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
  const sig = 'ab'.repeat(64);
  const stats = { interval: { wall: 0, cpu: 0, pg: 0, trips: 0 }, register: { wall: 0, cpu: 0, pg: 0, trips: 0 } };
  for (let b = 0; b < BATCHES; b++) {
    for (const mode of (['interval', 'register'] as const).filter((x) => !ONLY || x === ONLY)) {
      const intervals: ReadingRow[] = [];
      const registers: RegisterMessage[] = [];
      for (let k = 0; k < PER_METER; k++) {
        for (let i = 0; i < METERS; i++) {
          const n = b * PER_METER + k;
          const timestamp = new Date(t0 + n * 1000).toISOString();
          const idx = intervals.length + registers.length;
          if (mode === 'interval') intervals.push({ idx, meterId: `iv-${i}`, wallet, kwh: '0.001', timestamp, signature: sig, receivedAt: new Date() });
          else registers.push({ idx, meterId: `rg-${i}`, wallet, signature: sig, receivedAt: new Date(), reads: [{ timestamp, registerKwh: `${100 + n}.001` }], page: null, record: null });
        }
      }
      const s = stats[mode];
      const trips0 = trips;
      const cpu0 = process.cpuUsage();
      const pg0 = backendCpuMs(pid);
      const w0 = performance.now();
      await withTransaction(pool, (c) => (mode === 'interval' ? insertReadings(c, intervals) : storeRegisterMessages(c, registers)));
      s.wall += performance.now() - w0;
      const cpu = process.cpuUsage(cpu0);
      s.cpu += (cpu.user + cpu.system) / 1000;
      s.pg += backendCpuMs(pid) - pg0;
      s.trips += trips - trips0;
    }
  }
  const per = (v: number) => Math.round((v / BATCHES) * 100) / 100;
  const rows = Object.entries(stats).map(([mode, s]) => ({ mode, readings_per_batch: METERS * PER_METER, wall_ms: per(s.wall), node_cpu_ms: per(s.cpu), pg_cpu_ms: per(s.pg), round_trips: per(s.trips) }));
  console.table(rows);
  console.log(`load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
} finally {
  await pool.end();
  // BENCH_KEEP=1 keeps the database (e.g. to EXPLAIN the statements against its reads)
  if (process.env.BENCH_KEEP) console.log(`kept database ${name}`);
  else await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
