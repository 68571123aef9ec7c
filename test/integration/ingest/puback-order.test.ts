import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRawMeter, reading, registerMeter, startTestGateway, type TestGateway, type TestMeter, until } from '../../harness/index.js';

/**
 * Issue 12 A2: PUBACKs leave in arrival order per client (MQTT 3.1.1 §4.6), even when the
 * messages they answer finish at different times: refusals decided before verification (too
 * large, not JSON), forged signatures, duplicates and fresh readings, interleaved, from two
 * meters at once. A raw MQTT socket records the order the PUBACK packets actually arrive in.
 */
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ INGEST_VERIFY_WORKERS: 2 });
});
afterAll(async () => {
  await t?.stop();
});

const rawConnect = (m: TestMeter) => connectRawMeter(t.gateway.urls.mqtt!, m);

/** Payloads of every kind, in a fixed interleaving: each answered at a different pipeline stage. */
function mixedPayloads(m: TestMeter, n: number): (string | Buffer)[] {
  const out: (string | Buffer)[] = [];
  let last = JSON.stringify(reading(m));
  for (let i = 0; i < n; i++) {
    switch (i % 5) {
      case 0: out.push((last = JSON.stringify(reading(m)))); break;
      case 1: out.push(Buffer.alloc(5000, 0x20)); break; // too_large: refused before parsing
      case 2: { const r = reading(m); out.push(JSON.stringify({ ...r, kwh_amount: '99' })); break; } // bad_signature
      case 3: out.push(last); break; // duplicate of an earlier reading
      default: out.push('{"meter_id": "not json'); // invalid_payload
    }
  }
  return out;
}

describe('PUBACK order', () => {
  it('each client gets its PUBACKs in the order it published, across mixed outcomes', { timeout: 60_000 }, async () => {
    const N = 300;
    const meters = [await registerMeter(t.db.pool), await registerMeter(t.db.pool)];
    const clients = await Promise.all(meters.map((m) => rawConnect(m)));
    try {
      const payloads = meters.map((m) => mixedPayloads(m, N));
      // Interleave the two meters' publishes, all written without waiting for any answer.
      for (let i = 0; i < N; i++) {
        for (const [k, c] of clients.entries()) {
          c.send({ cmd: 'publish', topic: `meters/${meters[k]!.id}/readings`, payload: payloads[k]![i]!, qos: 1, messageId: i + 1, retain: false, dup: false });
        }
      }
      await until(() => clients.every((c) => c.acks.length === N), 45_000, 'every PUBACK');
      const expected = Array.from({ length: N }, (_, i) => i + 1);
      for (const c of clients) expect(c.acks).toEqual(expected);
      const stored = await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM meter_readings WHERE meter_id = ANY($1)', [meters.map((m) => m.id)]);
      expect(stored.rows[0]!.n).toBe(2 * (N / 5)); // one fresh reading per five publishes, per meter
    } finally {
      for (const c of clients) c.close();
    }
  });
});
