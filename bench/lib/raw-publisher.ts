// Lean bench publisher: the same protocol and measurement as publisher.ts (see there), but each
// meter is a raw TCP connection speaking MQTT 3.1.1 through mqtt-packet instead of an mqtt.js
// client. On a 2-core machine the load generator shares the CPU with the gateway and Postgres;
// mqtt.js does work per QoS 1 publish (outgoing store, callbacks, timers) that would take CPU from
// the gateway, which it never shares with meters that are separate devices. What is measured does not change: every
// PUBLISH is QoS 1 with a message id, a reading counts as acknowledged only when the PUBACK for
// that id arrives, every message is signed before the clock starts, and each meter subscribes to
// its status topic and receives (and parses) every status message the gateway sends.
//
// A gateway at INGEST_MAX_PENDING sheds load by closing the connection (MQTT 3.1.1 has no
// negative PUBACK). Like a real meter, the publisher then reconnects (backoff) and resends its
// unacknowledged messages with DUP set: QoS 1 semantics, at least once. Resending them all at once
// would overflow the limit again at once (a reconnect storm), so each meter keeps a congestion
// window: halved when its connection is shed, one more per PUBACK, up to `window`; resends and new
// messages both wait for room in it. Nothing is counted twice:
// a message counts once, at its first PUBACK, and the gateway answers a resend of a committed
// reading as a duplicate (the bench counts committed rows, which a duplicate does not add). When
// no PUBACK arrives for STALL_MS, or a meter cannot get back in, it fails loudly instead of hanging.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { createPrivateKey, sign } from 'node:crypto';
import { baseUnitsToKwh } from '../../src/domain/kwh.js';
import { meterKeyFromSecret, signReading, signRegisterReading } from '../../src/domain/sign.js';
import { awaitStatuses, readPublisherInput, readyThenWaitForGo, writeResult } from './publisher-protocol.js';

interface Meter {
  id: string;
  index: number;
  socket: net.Socket;
  /** connected and subscribed: the pump may write to it */
  up: boolean;
  /** bumped per connection: packets and events of an older socket are ignored */
  generation: number;
  /** congestion window (≤ input.window): messages allowed on the wire */
  cwnd: number;
  /** message ids to resend on the current connection, oldest message first */
  resend: number[];
  backoffMs: number;
  outstanding: number;
  /** message id → global message index (ids are assigned in sending order, 1..65535) */
  byMessageId: Int32Array;
  /** status timestamp → global message index, built before timing */
  byTimestamp: Map<string, number>;
  nextId: number;
}

const input = readPublisherInput();
const url = new URL(input.url);
const keys = input.meters.map((m) => meterKeyFromSecret(Uint8Array.from(m.secretKey)));
const meters: Meter[] = input.meters.map((m, index) => ({
  id: m.id, index, socket: null as unknown as net.Socket, up: false, generation: 0, cwnd: input.window, resend: [] as number[], backoffMs: 0, outstanding: 0, byMessageId: new Int32Array(65536).fill(-1), byTimestamp: new Map(), nextId: 1,
}));
const STALL_MS = Number(process.env.BENCH_STALL_MS ?? 60_000);
const MAX_CONNECT_ATTEMPTS = 30;
let reconnects = 0;
let resent = 0;
let finished = false;

function fail(message: string): never {
  process.stderr.write(`[publisher] ${message}\n`);
  process.exit(2);
}

const ocmfKeys = input.meters.map((m) => (m.ocmfKeyPem ? createPrivateKey(m.ocmfKeyPem) : null));

/**
 * One signed message of the bench's kind. A register grows 0.5 Wh per millisecond of its read's
 * timestamp, so it keeps rising across the sustained and fixed-rate phases (no drop, no hold).
 * An OCMF page counter is the read's second, so a meter's pages are consecutive within a phase,
 * as a real meter's are (one gap between the phases).
 */
function messageFor(n: number, i: number, timestamp: string): { topic: string; payload: Buffer } {
  const m = input.meters[i]!;
  const register = baseUnitsToKwh(BigInt(Date.parse(timestamp) - 1_700_000_000_000) * 500n);
  if (input.kind === 'register') {
    const r = signRegisterReading(keys[i]!, { meter_id: m.id, timestamp, register_kwh: register, wallet_address: m.owner });
    return { topic: `meters/${m.id}/readings`, payload: Buffer.from(JSON.stringify(r)) };
  }
  if (input.kind === 'ocmf') {
    const tm = `${timestamp.slice(0, 19)},${timestamp.slice(20, 23)}+0000 S`;
    const body = `{"FV":"1.0","GI":"BENCH","GS":"${m.id}","PG":"T${(Date.parse(timestamp) - 1_700_000_000_000) / 1000}","RD":[{"TM":"${tm}","TX":"T","RV":"${register}","RI":"1-0:1.8.0","RU":"kWh","ST":"G"}]}`;
    const sd = sign('sha256', Buffer.from(body), ocmfKeys[i]!).toString('hex').toUpperCase();
    return { topic: `meters/${m.id}/ocmf`, payload: Buffer.from(`OCMF|${body}|{"SD":"${sd}"}`) };
  }
  const r = signReading(keys[i]!, { meter_id: m.id, timestamp, kwh_amount: '0.5', wallet_address: m.owner });
  return { topic: `meters/${m.id}/readings`, payload: Buffer.from(JSON.stringify(r)) };
}

// Sign everything first; packets get their message id at send time (patched into the buffer).
const payloads: Buffer[] = [];
const owner: number[] = [];
for (let n = 0; n < input.count; n++) {
  const i = n % meters.length;
  const m = input.meters[i]!;
  // one message per second per meter: interval meters are on a 1-second grid
  const timestamp = new Date(input.tsBase + Math.floor(n / meters.length) * 1000).toISOString();
  const { topic, payload } = messageFor(n, i, timestamp);
  payloads.push(mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 1, messageId: 1, retain: false, dup: false }));
  meters[i]!.byTimestamp.set(timestamp, n);
  owner.push(i);
}

const sentAt = new Float64Array(input.count);
const latencies: number[] = [];
let acked = 0;
let statuses = 0;
// BENCH_LATENCY_DUMP=<dir>: each PUBACK's (send time since start, latency) in ms, to see whether a
// tail comes from stalls (clustered in time) or from steady queueing (spread out).
const timeline: number[] | null = process.env.BENCH_LATENCY_DUMP ? [] : null;

function onPacket(m: Meter, p: Packet): void {
  if (p.cmd === 'puback') {
    const n = m.byMessageId[p.messageId!]!;
    if (n < 0) return;
    m.byMessageId[p.messageId!] = -1;
    m.outstanding--;
    acked++;
    m.backoffMs = 0;
    if (m.cwnd < input.window) m.cwnd++;
    if (input.latencyUntil === 'puback') {
      latencies.push(performance.now() - sentAt[n]!);
      if (timeline) timeline.push(sentAt[n]! - start, performance.now() - sentAt[n]!);
    }
  } else if (p.cmd === 'publish') {
    statuses++;
    const s = JSON.parse(p.payload.toString()) as { timestamp: string };
    const n = m.byTimestamp.get(s.timestamp);
    if (n !== undefined && input.latencyUntil === 'status') latencies.push(performance.now() - sentAt[n]!);
  }
}

// Fixed header (1 byte) + remaining length (1–4 bytes) + topic length (2) + topic, then the id.
function messageIdOffset(buf: Buffer): number {
  let i = 1;
  while (buf[i]! & 0x80) i++;
  i++;
  return i + 2 + buf.readUInt16BE(i);
}

/** Opens one meter's connection: CONNECT, then SUBSCRIBE to its status; resolves once subscribed. */
function open(m: Meter): Promise<void> {
  const gen = ++m.generation;
  m.up = false;
  return new Promise<void>((resolve, reject) => {
    const socket = net.connect(Number(url.port || 1883), url.hostname);
    socket.setNoDelay(true);
    m.socket = socket;
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: Packet) => {
      if (gen !== m.generation) return;
      if (p.cmd === 'connack') {
        if (p.returnCode !== 0) return reject(new Error(`${m.id}: CONNACK ${p.returnCode}`));
        socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `meters/${m.id}/status`, qos: 0 }] }));
      } else if (p.cmd === 'suback') {
        m.up = true;
        resolve();
      } else onPacket(m, p);
    });
    socket.on('data', (b) => parser.parse(b));
    socket.on('error', () => {}); // 'close' follows and decides
    socket.once('close', () => {
      if (gen !== m.generation || finished) return;
      if (!m.up) return reject(new Error(`${m.id}: connection closed before SUBSCRIBE was answered`));
      m.up = false;
      void reconnect(m);
    });
    socket.once('connect', () =>
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: m.id, keepalive: 60, username: m.id, password: Buffer.from(input.meters[m.index]!.password) })),
    );
  });
}

/** The gateway closed the connection (load shedding): back off, reconnect, queue the unacknowledged for resending. */
async function reconnect(m: Meter): Promise<void> {
  reconnects++;
  m.cwnd = Math.max(1, Math.floor(m.cwnd / 2));
  for (let attempt = 1; ; attempt++) {
    m.backoffMs = Math.min(2_000, Math.max(50, m.backoffMs * 2));
    await new Promise((r) => setTimeout(r, m.backoffMs));
    try {
      await open(m);
      break;
    } catch (err) {
      if (attempt >= MAX_CONNECT_ATTEMPTS) fail(`${m.id}: could not reconnect after ${attempt} attempts (${(err as Error).message})`);
    }
  }
  const unacked: { id: number; n: number }[] = [];
  for (let id = 1; id < 65536; id++) if (m.byMessageId[id]! >= 0) unacked.push({ id, n: m.byMessageId[id]! });
  m.resend = unacked.sort((a, b) => a.n - b.n).map((u) => u.id);
}

/** Resends queued messages while the meter's window has room (the ones on the wire = outstanding − queued). */
function resendSome(m: Meter): void {
  while (m.resend.length && m.outstanding - m.resend.length < m.cwnd) {
    const id = m.resend.shift()!;
    const n = m.byMessageId[id]!;
    if (n < 0) continue; // acknowledged meanwhile
    const buf = payloads[n]!;
    buf[0] = buf[0]! | 0x08; // DUP: a resend of a message that may have arrived
    buf.writeUInt16BE(id, messageIdOffset(buf));
    m.socket.write(buf);
    resent++;
  }
}

await Promise.all(meters.map((m) => open(m)));
await readyThenWaitForGo();

const start = performance.now();
let next = 0;
let lastAcked = 0;
let lastProgress = start;
await new Promise<void>((resolve) => {
  const pump = () => {
    const due = input.rate > 0 ? Math.min(payloads.length, Math.floor(((performance.now() - start) / 1000) * input.rate)) : payloads.length;
    const corked = new Set<Meter>();
    for (const m of meters) {
      if (!m.up || !m.resend.length) continue;
      corked.add(m);
      m.socket.cork();
      resendSome(m);
    }
    while (next < due) {
      const m = meters[owner[next]!]!;
      if (!m.up || m.resend.length || m.outstanding >= m.cwnd) break;
      const id = m.nextId;
      m.nextId = id === 65535 ? 1 : id + 1;
      const buf = payloads[next]!;
      buf.writeUInt16BE(id, messageIdOffset(buf));
      m.byMessageId[id] = next;
      m.outstanding++;
      sentAt[next] = performance.now();
      if (!corked.has(m)) {
        corked.add(m);
        m.socket.cork();
      }
      m.socket.write(buf);
      next++;
    }
    for (const m of corked) m.socket.uncork();
    if (acked >= payloads.length) return resolve();
    if (acked > lastAcked) {
      lastAcked = acked;
      lastProgress = performance.now();
    } else if (performance.now() - lastProgress > STALL_MS) {
      fail(`no PUBACK for ${STALL_MS / 1000} s: ${acked} of ${payloads.length} acknowledged, ${next} sent, ${reconnects} reconnects, ${resent} resent; the gateway is refusing or stalled`);
    }
    setTimeout(pump, next < payloads.length ? 1 : 5);
  };
  pump();
});
await awaitStatuses(input, () => statuses, payloads.length);
finished = true;
if (timeline) writeFileSync(`${process.env.BENCH_LATENCY_DUMP}/latency-${input.rate}-${Date.now()}.json`, JSON.stringify(timeline));
writeResult({ sent: next, acked, statuses, seconds: (performance.now() - start) / 1000, reconnects, resent }, latencies);
for (const m of meters) m.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
process.exit(0);
