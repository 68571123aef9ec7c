import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READ_GATE_BACKLOG } from '../../../src/ingest/read-gate.js';
import { connectRawMeter, reading, registerMeter, startTestGateway, type TestGateway, until } from '../../harness/index.js';

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

describe('read gate', () => {
  it('stores and acknowledges every reading of a backlog larger than the gate, in order', { timeout: 120_000 }, async () => {
    const METERS = 30;
    const N = 250; // per meter: about one socket read's worth, so the backlog can pass the gate
    expect(METERS * N).toBeGreaterThan(READ_GATE_BACKLOG);
    const meters = await Promise.all(Array.from({ length: METERS }, () => registerMeter(t.db.pool)));
    const clients = await Promise.all(meters.map((m) => connectRawMeter(t.gateway.urls.mqtt!, m)));
    try {
      for (const [k, c] of clients.entries()) {
        const m = meters[k]!;
        const bytes = Array.from({ length: N }, (_, i) =>
          mqttPacket.generate({ cmd: 'publish', topic: `meters/${m.id}/readings`, payload: JSON.stringify(reading(m)), qos: 1, messageId: i + 1, retain: false, dup: false }),
        );
        c.write(Buffer.concat(bytes));
      }
      await until(() => clients.every((c) => c.acks.length >= N), 100_000, 'every PUBACK');
      const expected = Array.from({ length: N }, (_, i) => i + 1);
      for (const c of clients) expect(c.acks).toEqual(expected);
      const stored = await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM meter_readings WHERE meter_id = ANY($1)', [meters.map((m) => m.id)]);
      expect(stored.rows[0]!.n).toBe(METERS * N);
    } finally {
      for (const c of clients) c.close();
    }
  });
});
