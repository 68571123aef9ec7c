// Bench publisher, run as its own process so it does not share the gateway's event loop.
// Input (JSON file named in argv[2]): broker url, meters with keys, how many readings, rate, and
// whether latency ends at the PUBACK (embedded broker: PUBACK = committed) or at the gateway's
// status message (Mosquitto acks on its own, so only the status proves the commit).
// Protocol: signs everything first, prints {"ready":true}, waits for a line on stdin, publishes,
// prints one JSON result line.
import mqtt, { type MqttClient } from 'mqtt';
import { meterKeyFromSecret, signReading } from '../../src/domain/sign.js';
import { awaitStatuses, readPublisherInput, readyThenWaitForGo, writeResult } from './publisher-protocol.js';

const input = readPublisherInput();
const meters = input.meters.map((m) => ({ ...m, key: meterKeyFromSecret(Uint8Array.from(m.secretKey)) }));
const messages: { i: number; topic: string; payload: string; key: string }[] = [];
for (let n = 0; n < input.count; n++) {
  const i = n % meters.length;
  const m = meters[i]!;
  const timestamp = new Date(input.tsBase + Math.floor(n / meters.length) * 1000).toISOString(); // one reading per second per meter: on a 1-second grid
  const r = signReading(m.key, { meter_id: m.id, timestamp, kwh_amount: '0.5', wallet_address: m.owner });
  messages.push({ i, topic: `meters/${m.id}/readings`, payload: JSON.stringify(r), key: `${m.id}|${timestamp}` });
}

const sentAt = new Map<string, number>();
const latencies: number[] = [];
let acked = 0;
let statuses = 0;
const clients: MqttClient[] = await Promise.all(
  meters.map(
    (m) =>
      new Promise<MqttClient>((resolve, reject) => {
        const c = mqtt.connect(input.url, { username: m.id, password: m.password, clientId: m.id, clean: true, reconnectPeriod: 0 });
        c.once('connect', () => c.subscribe(`meters/${m.id}/status`, { qos: 0 }, () => resolve(c)));
        c.once('error', reject);
        c.on('message', (_t, payload) => {
          const s = JSON.parse(payload.toString()) as { timestamp: string };
          statuses++;
          const t0 = sentAt.get(`${m.id}|${s.timestamp}`);
          if (t0 !== undefined && input.latencyUntil === 'status') latencies.push(performance.now() - t0);
        });
      }),
  ),
);
const outstanding = new Array<number>(clients.length).fill(0);
await readyThenWaitForGo();

const start = performance.now();
let next = 0;
await new Promise<void>((resolve) => {
  const pump = () => {
    const due = input.rate > 0 ? Math.min(messages.length, Math.floor(((performance.now() - start) / 1000) * input.rate)) : messages.length;
    while (next < due) {
      const msg = messages[next]!;
      if (outstanding[msg.i]! >= input.window) break;
      next++;
      outstanding[msg.i]!++;
      const t0 = performance.now();
      sentAt.set(msg.key, t0);
      clients[msg.i]!.publish(msg.topic, msg.payload, { qos: 1 }, (err) => {
        outstanding[msg.i]!--;
        if (!err) acked++;
        if (!err && input.latencyUntil === 'puback') latencies.push(performance.now() - t0);
      });
    }
    if (acked >= messages.length) return resolve();
    setTimeout(pump, next < messages.length ? 1 : 5);
  };
  pump();
});
await awaitStatuses(input, () => statuses, messages.length);
writeResult({ sent: next, acked, statuses, seconds: (performance.now() - start) / 1000 }, latencies);
await Promise.all(clients.map((c) => c.endAsync(true)));
process.exit(0);
