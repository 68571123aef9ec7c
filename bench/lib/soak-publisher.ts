// Publisher for bench/soak.ts: meters as raw MQTT 3.1.1 sockets (as raw-publisher.ts), but
// readings are signed as they are sent — a soak publishes millions, too many to sign up front —
// at a fixed rate for a fixed time. Every second it prints one JSON line: readings sent and
// PUBACKed in that second and the p99 publish → PUBACK of the messages acknowledged in it.
// Input: a JSON file named in argv[2]; starts at once; exits after the last PUBACK (or 10 s).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { meterKeyFromSecret, signReading } from '../../src/domain/sign.js';
import { connectRawMeter } from './raw-meter.js';

export interface SoakPublisherInput {
  url: string;
  meters: { id: string; secretKey: number[]; owner: string; password: string }[];
  rate: number;
  seconds: number;
  /** most unacknowledged messages per meter; beyond it the publisher falls behind (and says so) */
  window: number;
  tsBase: number;
}

export interface SoakTick {
  t: number;
  sent: number;
  acked: number;
  p99_ms: number | null;
  behind: number;
}

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as SoakPublisherInput;
const url = new URL(input.url);

interface Meter {
  id: string;
  owner: string;
  key: ReturnType<typeof meterKeyFromSecret>;
  socket: net.Socket;
  sentAt: Float64Array;
  outstanding: number;
  nextId: number;
  seq: number;
}

const meters: Meter[] = input.meters.map((m) => ({
  id: m.id,
  owner: m.owner,
  key: meterKeyFromSecret(Uint8Array.from(m.secretKey)),
  socket: null as unknown as net.Socket,
  sentAt: new Float64Array(65536),
  outstanding: 0,
  nextId: 1,
  seq: 0,
}));

let latencies: number[] = [];
let ackedInTick = 0;
let ackedTotal = 0;

await Promise.all(
  meters.map(async (m, i) => {
    m.socket = await connectRawMeter(url, { id: m.id, password: input.meters[i]!.password }, {
      subscribeStatus: false,
      onPacket: (p) => {
        if (p.cmd !== 'puback') return;
        m.outstanding--;
        ackedInTick++;
        ackedTotal++;
        latencies.push(performance.now() - m.sentAt[p.messageId!]!);
      },
    });
  }),
);

function publishOne(m: Meter): void {
  const id = m.nextId;
  m.nextId = id === 65535 ? 1 : id + 1;
  const timestamp = new Date(input.tsBase + m.seq++ * 1000).toISOString(); // one reading per second of meter time
  const reading = signReading(m.key, { meter_id: m.id, timestamp, kwh_amount: '0.5', wallet_address: m.owner });
  m.outstanding++;
  m.sentAt[id] = performance.now();
  m.socket.write(mqttPacket.generate({ cmd: 'publish', topic: `meters/${m.id}/readings`, payload: Buffer.from(JSON.stringify(reading)), qos: 1, messageId: id, retain: false, dup: false }));
}

const total = input.rate * input.seconds;
const start = performance.now();
let sent = 0;
let sentInTick = 0;
let cursor = 0;

const ticker = setInterval(() => {
  latencies.sort((a, b) => a - b);
  const p99 = latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(0.99 * latencies.length))]! : null;
  const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * input.rate));
  const tick: SoakTick = { t: Math.round((performance.now() - start) / 100) / 10, sent: sentInTick, acked: ackedInTick, p99_ms: p99 === null ? null : Math.round(p99 * 10) / 10, behind: due - sent };
  process.stdout.write(`${JSON.stringify(tick)}\n`);
  latencies = [];
  sentInTick = 0;
  ackedInTick = 0;
}, 1000);

await new Promise<void>((resolve) => {
  const pump = () => {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * input.rate));
    let blocked = 0;
    const corked = new Set<Meter>();
    // At most 500 per turn, so the once-a-second report is not starved when the publisher lags.
    const limit = sent + 500;
    while (sent < due && sent < limit && blocked < meters.length) {
      const m = meters[cursor]!;
      cursor = (cursor + 1) % meters.length;
      if (m.outstanding >= input.window) {
        blocked++;
        continue;
      }
      blocked = 0;
      if (!corked.has(m)) {
        corked.add(m);
        m.socket.cork();
      }
      publishOne(m);
      sent++;
      sentInTick++;
    }
    for (const m of corked) m.socket.uncork();
    if (sent >= total) return resolve();
    if (sent < due && blocked < meters.length) setImmediate(pump);
    else setTimeout(pump, 2);
  };
  pump();
});

const settle = performance.now() + 10_000;
while (ackedTotal < total && performance.now() < settle) await new Promise((r) => setTimeout(r, 50));
clearInterval(ticker);
for (const m of meters) m.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
process.stdout.write(`${JSON.stringify({ done: true, sent, acked: ackedTotal })}\n`);
process.exit(0);
