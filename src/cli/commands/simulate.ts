import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { MqttClient } from 'mqtt';
import { topicForReadings, topicForStatus, type SignedReading } from '../../domain/reading.js';
import { generateMeterKey, meterKeyFromSecret, signReading, type MeterKey } from '../../domain/sign.js';
import { sleep } from '../../lib/retry.js';
import { getMeter } from '../../store/meters.js';
import { CliError, cliContext, output, withDatabase, type CliContext } from '../context.js';
import { brokerUpdated, meterRegistry, refusalError } from '../provision.js';
import { loadRegisteredMeter, type RegisteredMeter } from './simulate-meter.js';

const BAD_KINDS = ['forged-signature', 'other-topic', 'replay', 'stale', 'oversize', 'malformed-json'] as const;
type BadKind = (typeof BAD_KINDS)[number];

interface SimMeter {
  id: string;
  /** the meter's latest stored reading (0 if none), so a second run never repeats a timestamp */
  lastStoredMs: number;
  /** the meter's interval grid: readings are stamped on it, one interval apart */
  intervalSeconds: number;
  key: MeterKey;
  owner: string;
  password: string;
}

interface Opts {
  meters: string;
  rate: string;
  duration: string;
  broker?: string;
  bad?: string;
  prefix: string;
  meter?: string;
  key?: string;
  password?: string;
}

/** Meters with real keys, kept under DATA_DIR/simulator (0600) so later runs reuse them. */
async function provision(ctx: CliContext, n: number, prefix: string): Promise<SimMeter[]> {
  const dir = join(ctx.config.DATA_DIR, 'simulator');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return withDatabase(ctx, async (pool) => {
    const out: SimMeter[] = [];
    for (let i = 0; i < n; i++) {
      const id = `${prefix}${String(i).padStart(4, '0')}`;
      const file = join(dir, `${id}.json`);
      const existing = await getMeter(pool, id);
      if (existing && existsSync(file)) {
        const saved = JSON.parse(readFileSync(file, 'utf8')) as { secretKey: number[]; owner: string; password: string };
        const last = await pool.query<{ t: Date | null }>('SELECT max("timestamp") AS t FROM meter_readings WHERE meter_id = $1', [id]);
        const lastStoredMs = last.rows[0]?.t?.getTime() ?? 0;
        out.push({ id, lastStoredMs, intervalSeconds: existing.interval_seconds, key: meterKeyFromSecret(Uint8Array.from(saved.secretKey)), owner: saved.owner, password: saved.password });
        continue;
      }
      if (existing) throw new CliError(`meter ${id} exists but its simulator key ${file} is missing; use another --prefix`, 'exists');
      const key = generateMeterKey();
      const owner = generateMeterKey().publicKey;
      // A simulated meter reports every second (time runs faster than the wall clock in a
      // simulation); 3,600 kW allows the 1 kWh such a reading may carry. Registered like any
      // meter (the registry service: same rules, and provisioned at a dynsec broker).
      const r = await meterRegistry(ctx, pool).register({ id, wallet: owner, pubkey: key.publicKey, intervalSeconds: 1, maxKw: '3600', reads: 'interval', format: 'json' });
      if (!r.ok) throw 'exists' in r ? new CliError(r.message, 'exists') : refusalError(r);
      brokerUpdated(id, 'the registration', r.broker);
      const { password } = r;
      writeFileSync(file, JSON.stringify({ id, secretKey: [...key.secretKey], owner, password }), { mode: 0o600 });
      out.push({ id, lastStoredMs: 0, intervalSeconds: 1, key, owner, password });
    }
    return out;
  });
}

const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);

function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The message a meter sends: a correct reading, or one hostile kind for --bad. */
function message(m: SimMeter, all: SimMeter[], ts: number, bad: BadKind | undefined, replay: Map<string, string>): { topic: string; payload: string } {
  const fields = { meter_id: m.id, timestamp: new Date(ts).toISOString(), kwh_amount: (0.001 + ((ts / 1000) % 1000) / 1000).toFixed(3), wallet_address: m.owner };
  const signed = (f = fields): SignedReading => signReading(m.key, f);
  const topic = topicForReadings(m.id);
  switch (bad) {
    case undefined:
      return { topic, payload: JSON.stringify(signed()) };
    case 'forged-signature': {
      const r = signed();
      return { topic, payload: JSON.stringify({ ...r, kwh_amount: '99' }) };
    }
    case 'other-topic': {
      const victim = all.find((x) => x.id !== m.id)?.id ?? 'someone-else';
      return { topic: topicForReadings(victim), payload: JSON.stringify(signed()) };
    }
    case 'replay': {
      if (!replay.has(m.id)) replay.set(m.id, JSON.stringify(signed()));
      return { topic, payload: replay.get(m.id)! };
    }
    case 'stale':
      return { topic, payload: JSON.stringify(signed({ ...fields, timestamp: new Date(ts - 25 * 3_600_000).toISOString() })) };
    case 'oversize':
      return { topic, payload: JSON.stringify({ ...signed(), padding: 'x'.repeat(5000) }) };
    case 'malformed-json':
      return { topic, payload: `{"meter_id":"${m.id}","timestamp":` };
  }
}

/** A registered meter's interval and latest stored reading, so its readings land on its grid. */
async function onItsGrid(ctx: CliContext, m: RegisteredMeter): Promise<SimMeter> {
  return withDatabase(ctx, async (pool) => {
    const r = await pool.query<{ i: number; t: Date | null }>(
      'SELECT m.interval_seconds AS i, (SELECT max("timestamp") FROM meter_readings WHERE meter_id = m.id) AS t FROM meters m WHERE m.id = $1',
      [m.id],
    );
    return { ...m, intervalSeconds: r.rows[0]!.i, lastStoredMs: r.rows[0]!.t?.getTime() ?? 0 };
  });
}

async function run(ctx: CliContext, opts: Opts): Promise<void> {
  const n = Number(opts.meters);
  const rate = Number(opts.rate);
  const duration = Number(opts.duration);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new CliError('--meters must be 1..10000', 'invalid_argument');
  if (!(rate > 0) || !(duration > 0)) throw new CliError('--rate and --duration must be positive', 'invalid_argument');
  const bad = opts.bad as BadKind | undefined;
  if (bad && !BAD_KINDS.includes(bad)) throw new CliError(`--bad must be one of ${BAD_KINDS.join(', ')}`, 'invalid_argument');
  const broker = opts.broker ?? ctx.config.MQTT_URL ?? `mqtt://127.0.0.1:${ctx.config.MQTT_PORT}`;

  if (opts.meter && bad === 'other-topic') throw new CliError('--bad other-topic needs simulated meters, not --meter', 'invalid_argument');
  const meters = opts.meter
    ? [await onItsGrid(ctx, await loadRegisteredMeter(ctx, opts.meter, opts.key, opts.password ?? process.env.GRIDMINT_METER_PASSWORD))]
    : await provision(ctx, n, opts.prefix);
  const statuses = new Map<string, number>();
  // Imported here, not at the top: every CLI command module loads with `gridmint start`.
  const { default: mqtt } = await import('mqtt');
  const clients: MqttClient[] = await Promise.all(
    meters.map(
      (m) =>
        new Promise<MqttClient>((resolve, reject) => {
          const c = mqtt.connect(broker, { username: m.id, password: m.password, clientId: m.id, clean: false, reconnectPeriod: 1000, connectTimeout: 10_000 });
          c.once('connect', () => {
            c.subscribe(topicForStatus(m.id), { qos: 0 });
            resolve(c);
          });
          c.once('error', (err) => reject(new CliError(`${m.id} cannot connect to ${broker}: ${err.message}`, 'connect_failed')));
          c.on('message', (_t, payload) => {
            const s = JSON.parse(payload.toString()) as { outcome: string; reason: string | null };
            const k = s.reason ?? s.outcome;
            statuses.set(k, (statuses.get(k) ?? 0) + 1);
          });
        }),
    ),
  );
  let disconnects = 0;
  let ending = false;
  for (const c of clients) {
    c.on('error', () => {}); // reconnects on its own; counted as unacknowledged
    c.on('close', () => void (ending || disconnects++)); // how the gateway refuses a forbidden topic or an overload
  }

  let sent = 0;
  let acked = 0;
  let failed = 0;
  const latencies: number[] = [];
  const replay = new Map<string, string>();
  const lastTs = new Map<string, number>();
  const start = Date.now();
  const say = (line: string) => (ctx.json ? process.stderr : process.stdout).write(`${line}\n`);
  const progress = setInterval(() => {
    const s = (Date.now() - start) / 1000;
    say(`${s.toFixed(0)}s sent ${sent} acknowledged ${acked} (${Math.round(acked / s)}/s) status ${JSON.stringify(Object.fromEntries(statuses))}`);
  }, 1000);
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = Date.now() - start;
      const due = Math.min(Math.floor((elapsed / 1000) * rate), Math.floor(duration * rate));
      while (sent < due) {
        const i = sent % meters.length;
        const m = meters[i]!;
        // distinct, increasing timestamps on the meter's grid, one interval apart, so good readings
        // are never duplicates; they start 23 h back, inside the `stale` window
        const step = m.intervalSeconds * 1000;
        const ts = Math.max(Math.ceil((Date.now() - 82_800_000) / step) * step, (lastTs.get(m.id) ?? m.lastStoredMs) + step);
        lastTs.set(m.id, ts);
        const msg = message(m, meters, ts, bad, replay);
        const t0 = performance.now();
        sent++;
        clients[i]!.publish(msg.topic, msg.payload, { qos: 1 }, (err) => {
          if (err) failed++;
          else {
            acked++;
            latencies.push(performance.now() - t0);
          }
        });
      }
      if (elapsed >= duration * 1000) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  const settle = Date.now() + 10_000;
  while (acked + failed < sent && Date.now() < settle && bad !== 'other-topic') await sleep(50);
  // A gateway answers every committed reading on its status topic; still nothing after a few
  // seconds means no gridmint consumes this broker's readings. Then a moment for the last ones.
  const firstStatusBy = Date.now() + 5_000;
  while (sent > 0 && statuses.size === 0 && Date.now() < firstStatusBy) await sleep(50);
  await sleep(300);
  clearInterval(progress);
  ending = true; // our own disconnects below are not the broker's doing
  await Promise.all(clients.map((c) => c.endAsync(true)));

  latencies.sort((a, b) => a - b);
  const seconds = (Date.now() - start) / 1000;
  const summary = {
    broker, meters: meters.length, bad: bad ?? null, sent, acknowledged: acked, unacknowledged: sent - acked,
    rate_per_second: Math.round(acked / Math.min(seconds, duration)),
    latency_ms: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)) },
    status: Object.fromEntries(statuses),
    disconnects,
  };
  if (sent > 0 && statuses.size === 0) {
    throw new CliError(
      `no status replies: wrong broker or port? ${broker} acknowledged ${acked} of ${sent} readings, but no gateway answered on meters/<id>/status`,
      'no_status_replies',
    );
  }
  const ms = (v: number | null) => (v === null ? 'n/a' : `${v} ms`);
  output(ctx, summary, [
    `sent ${sent}, acknowledged ${acked} (${summary.rate_per_second}/s), unacknowledged ${sent - acked}`,
    `PUBACK latency p50 ${ms(summary.latency_ms.p50)}, p99 ${ms(summary.latency_ms.p99)}`,
    `gateway answered on the status topics: ${JSON.stringify(summary.status)}; connections closed by the broker: ${disconnects}`,
  ]);
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('provision (or reuse) meters with real keys and publish signed readings over MQTT (QoS 1)')
    .option('--meters <n>', 'how many meters', '10')
    .option('--rate <r>', 'readings per second, all meters together', '100')
    .option('--duration <s>', 'seconds to publish', '10')
    .option('--broker <url>', 'MQTT broker (default MQTT_URL, else the embedded broker on MQTT_PORT)')
    .option('--bad <kind>', `send one class of hostile messages: ${BAD_KINDS.join(', ')}`)
    .option('--prefix <p>', 'meter id prefix', 'sim-')
    .option('--meter <id>', 'publish as this registered meter instead of simulated ones (--meters is then ignored)')
    .option('--key <path>', "with --meter: the meter's keypair file (default DATA_DIR/keys/meters/<id>.json)")
    .option('--password <pw>', "with --meter: the MQTT password `meter add` printed (or GRIDMINT_METER_PASSWORD)")
    .action(async (opts: Opts, cmd: Command) => {
      await run(cliContext(cmd), opts);
    });
}
