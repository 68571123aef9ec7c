import net from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READ_GATE_BACKLOG } from '../../../src/ingest/read-gate.js';
import { reading, registerMeter, startTestGateway, type TestGateway, type TestMeter, until } from '../../harness/index.js';

/**
 * The embedded broker's read gate (src/ingest/read-gate.ts): more readings in flight than
 * READ_GATE_BACKLOG, all written at once over raw sockets, so meter connections are deferred
 * while the backlog commits. Every reading is still stored once and every PUBACK arrives, in order.
 */
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ INGEST_VERIFY_WORKERS: 1, INGEST_MAX_PENDING: 20_000 });
});
afterAll(async () => {
  await t?.stop();
});

async function rawConnect(m: TestMeter): Promise<{ acks: number[]; socket: net.Socket }> {
  const u = new URL(t.gateway.urls.mqtt!);
  const socket = net.connect(Number(u.port), u.hostname);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const acks: number[] = [];
  let connack: number | null = null;
  parser.on('packet', (p: Packet) => {
    if (p.cmd === 'connack') connack = p.returnCode ?? 0;
    if (p.cmd === 'puback') acks.push(p.messageId!);
  });
  socket.on('data', (b: Buffer) => parser.parse(b));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: m.id, keepalive: 60, username: m.id, password: Buffer.from(m.password) }));
  await until(() => connack !== null, 10_000, 'CONNACK');
  expect(connack).toBe(0);
  return { acks, socket };
}

describe('read gate', () => {
  it('stores and acknowledges every reading of a backlog larger than the gate, in order', { timeout: 120_000 }, async () => {
    const METERS = 30;
    const N = 250; // per meter: about one socket read's worth, so the backlog can pass the gate
    expect(METERS * N).toBeGreaterThan(READ_GATE_BACKLOG);
    const meters = await Promise.all(Array.from({ length: METERS }, () => registerMeter(t.db.pool)));
    const clients = await Promise.all(meters.map((m) => rawConnect(m)));
    try {
      for (const [k, c] of clients.entries()) {
        const m = meters[k]!;
        const bytes = Array.from({ length: N }, (_, i) =>
          mqttPacket.generate({ cmd: 'publish', topic: `meters/${m.id}/readings`, payload: JSON.stringify(reading(m)), qos: 1, messageId: i + 1, retain: false, dup: false }),
        );
        c.socket.write(Buffer.concat(bytes));
      }
      await until(() => clients.every((c) => c.acks.length >= N), 100_000, 'every PUBACK');
      const expected = Array.from({ length: N }, (_, i) => i + 1);
      for (const c of clients) expect(c.acks).toEqual(expected);
      const stored = await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM meter_readings WHERE meter_id = ANY($1)', [meters.map((m) => m.id)]);
      expect(stored.rows[0]!.n).toBe(METERS * N);
    } finally {
      for (const c of clients) c.socket.destroy();
    }
  });
});
