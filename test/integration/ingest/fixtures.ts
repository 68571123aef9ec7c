import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type pg from 'pg';
import { generatePassword, hashPassword } from '../../../src/domain/credential.js';
import type { SignedReading } from '../../../src/domain/reading.js';
import { generateMeterKey, signReading, type MeterKey } from '../../../src/domain/sign.js';
import { insertMeter } from '../../../src/store/meters.js';

export interface TestMeter {
  id: string;
  key: MeterKey;
  owner: string;
  password: string;
}

/**
 * Registers a meter the way `gridmint meter add` does (real key, $7$ password hash). Test meters
 * default to a 1-second interval so that `reading()` can hand out many distinct on-grid
 * timestamps, and to 360,000 kW so one reading may still carry up to 100 kWh.
 */
export async function registerMeter(pool: pg.Pool, opts: { id?: string; intervalSeconds?: number; maxKw?: string } = {}): Promise<TestMeter> {
  const key = generateMeterKey();
  const owner = generateMeterKey().publicKey;
  const password = generatePassword();
  const id = opts.id ?? `m-${randomBytes(4).toString('hex')}`;
  await insertMeter(pool, { id, ownerWallet: owner, publicKey: key.publicKey, intervalSeconds: opts.intervalSeconds ?? 1, maxKw: opts.maxKw ?? '360000', passwordHash: hashPassword(password) });
  return { id, key, owner, password };
}

let tick = 0;
/**
 * A correctly signed reading with a fresh timestamp: whole seconds (on a 1-second meter's grid),
 * distinct per call, within the last 20 hours (inside the 24-hour `stale` window).
 */
export function reading(m: TestMeter, over: Partial<Omit<SignedReading, 'signature'>> = {}): SignedReading {
  const ts = new Date(Math.floor(Date.now() / 1000) * 1000 - 72_000_000 + (tick++ % 72_000) * 1000).toISOString();
  return signReading(m.key, { meter_id: m.id, timestamp: ts, kwh_amount: '1.25', wallet_address: m.owner, ...over });
}

export function connectMeter(url: string, m: TestMeter, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { username: m.id, password: m.password, clientId: m.id, reconnectPeriod: 0, connectTimeout: 5_000, ...opts });
    const onError = (err: Error) => {
      c.end(true);
      reject(err);
    };
    const onClose = () => reject(new Error('connection closed before CONNACK'));
    c.once('connect', () => {
      c.off('error', onError);
      c.off('close', onClose);
      resolve(c);
    });
    c.once('error', onError);
    c.once('close', onClose);
  });
}

export function publish(c: MqttClient, topic: string, payload: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => c.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
}

export interface StatusMessage {
  timestamp: string | null;
  outcome: 'accepted' | 'duplicate' | 'rejected';
  reason: string | null;
  detail: string | null;
  reading_id: string | null;
}

/** Subscribes to the meter's own status topic and collects what the gateway answers. */
export async function watchStatus(c: MqttClient, meterId: string): Promise<StatusMessage[]> {
  const seen: StatusMessage[] = [];
  c.on('message', (topic, payload) => {
    if (topic === `meters/${meterId}/status`) seen.push(JSON.parse(payload.toString()) as StatusMessage);
  });
  const granted = await c.subscribeAsync(`meters/${meterId}/status`, { qos: 0 });
  if (granted[0]?.qos === 128) throw new Error('status subscription refused');
  return seen;
}

export interface ReadingStream {
  clients: MqttClient[];
  /** signatures in sending order */
  sent: string[];
  /** signatures whose PUBACK arrived */
  acked: Set<string>;
  /** signatures whose publish mqtt.js reported as failed (the sender knows) */
  failed: Set<string>;
  /** stop publishing new readings */
  stop(): void;
  /** resolves once every publish so far has been answered; rejects with `what` after timeoutMs */
  settled(timeoutMs: number, what: string): Promise<void>;
}

/**
 * Each meter publishes fresh readings (QoS 1) every `intervalMs` over a persistent session that
 * reconnects on its own, so mqtt.js resends what was not acknowledged — the load for crash and
 * outage tests.
 */
export async function streamReadings(
  url: string,
  meters: TestMeter[],
  opts: { reconnectPeriod: number; intervalMs: number },
): Promise<ReadingStream> {
  const publishes: Promise<void>[] = [];
  let sending = true;
  const s: ReadingStream = {
    clients: [],
    sent: [],
    acked: new Set(),
    failed: new Set(),
    stop: () => void (sending = false),
    settled: (timeoutMs, what) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(what)), timeoutMs);
      });
      return Promise.race([Promise.all(publishes).then(() => undefined), timeout]).finally(() => clearTimeout(timer));
    },
  };
  for (const m of meters) {
    let c: MqttClient;
    try {
      c = await connectMeter(url, m, { reconnectPeriod: opts.reconnectPeriod, clean: false });
    } catch (err) {
      sending = false;
      for (const open of s.clients) open.end(true);
      throw err;
    }
    c.on('error', () => {});
    s.clients.push(c);
    void (async () => {
      while (sending) {
        const r = reading(m);
        s.sent.push(r.signature);
        publishes.push(
          new Promise<void>((resolve) =>
            c.publish(`meters/${m.id}/readings`, JSON.stringify(r), { qos: 1 }, (err) => {
              if (!err) s.acked.add(r.signature);
              else s.failed.add(r.signature);
              resolve();
            }),
          ),
        );
        await new Promise((res) => setTimeout(res, opts.intervalMs));
      }
    })();
  }
  return s;
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function count(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  const r = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM (${sql}) q`, params);
  return Number(r.rows[0]!.n);
}

/** One hostile or broken message per reason code that a meter on its own topic can produce. */
export function rejectionCases(m: TestMeter, other: TestMeter): { reason: string; payload: string | Buffer }[] {
  const forged = reading(m);
  const last = forged.signature.endsWith('1') ? '2' : '1';
  const hour = 3_600_000;
  return [
    { reason: 'invalid_payload', payload: '{"meter_id": "not json' },
    { reason: 'too_large', payload: Buffer.alloc(5000, 0x20) },
    { reason: 'meter_mismatch', payload: JSON.stringify(reading(other)) },
    { reason: 'bad_signature', payload: JSON.stringify({ ...forged, signature: forged.signature.slice(0, -1) + last }) },
    { reason: 'implausible_energy', payload: JSON.stringify(reading(m, { kwh_amount: '100.000000001' })) },
    { reason: 'misaligned_timestamp', payload: JSON.stringify(reading(m, { timestamp: new Date(Math.floor(Date.now() / 1000) * 1000 - 5_000_500).toISOString() })) },
    { reason: 'implausible_energy', payload: JSON.stringify(reading(m, { kwh_amount: '0' })) },
    { reason: 'stale', payload: JSON.stringify(reading(m, { timestamp: new Date(Math.floor(Date.now() / 1000) * 1000 - 25 * hour).toISOString() })) },
    { reason: 'future_timestamp', payload: JSON.stringify(reading(m, { timestamp: new Date(Math.floor(Date.now() / 1000) * 1000 + hour).toISOString() })) },
    { reason: 'invalid_wallet', payload: JSON.stringify(reading(m, { wallet_address: 'not-a-wallet' })) },
    { reason: 'wallet_mismatch', payload: JSON.stringify(reading(m, { wallet_address: other.owner })) },
  ];
}

/** Granted QoS per topic (128 = refused); mqtt.js turns any refusal into an error carrying the SUBACK. */
export async function subscribeGranted(c: MqttClient, topics: string[]): Promise<number[]> {
  try {
    return (await c.subscribeAsync(topics, { qos: 0 })).map((g) => g.qos);
  } catch (err) {
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (!granted) throw err;
    return granted;
  }
}
