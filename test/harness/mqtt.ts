import mqtt, { type MqttClient } from 'mqtt';
import type { SignedReading } from '../../src/domain/reading.js';
import { reading, type TestMeter } from './meters.js';

/**
 * One MQTT connection, no reconnect: resolves on CONNACK, rejects with the broker's refusal (or
 * "closed" when it hangs up first). Extra client options (clean: false, reconnectPeriod, …) go on top.
 */
export function connectClient(url: string, creds: { username: string; password: string; clientId: string }, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { ...creds, reconnectPeriod: 0, connectTimeout: 5_000, ...opts });
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

/** A meter's own connection: client id = username = meter id, as the brokers require. */
export function connectMeter(url: string, m: { id: string; password: string }, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return connectClient(url, { username: m.id, password: m.password, clientId: m.id }, opts);
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

export interface Stream {
  /** every reading handed to a meter's client, in order (whether or not acknowledged yet) */
  sent: SignedReading[];
  /** readings Mosquitto acknowledged (PUBACK) to the meter */
  acked: SignedReading[];
  /** resolves when every publish has been acknowledged by Mosquitto */
  done: Promise<void>;
}

/**
 * Publishes every meter's readings at QoS 1, interleaved across meters and paced at `perSecond`
 * overall, so the stream is still running when the test kills a gateway. Readings are signed in
 * advance: signing must not be what paces the stream.
 */
export function publishStream(meters: { client: MqttClient; topic: string; readings: SignedReading[] }[], perSecond: number): Stream {
  const order: { client: MqttClient; topic: string; r: SignedReading }[] = [];
  const longest = Math.max(...meters.map((m) => m.readings.length));
  for (let i = 0; i < longest; i++) for (const m of meters) if (m.readings[i]) order.push({ client: m.client, topic: m.topic, r: m.readings[i]! });
  const s: Stream = { sent: [], acked: [], done: Promise.resolve() };
  s.done = (async () => {
    const t0 = Date.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < order.length; i++) {
      const due = t0 + (i * 1000) / perSecond;
      if (due > Date.now() + 2) await new Promise((r) => setTimeout(r, due - Date.now()));
      const { client, topic, r } = order[i]!;
      s.sent.push(r);
      pending.push(publish(client, topic, JSON.stringify(r)).then(() => void s.acked.push(r)));
    }
    await Promise.all(pending);
  })();
  return s;
}
