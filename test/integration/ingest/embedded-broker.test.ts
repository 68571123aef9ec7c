import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { setMeterStatus } from '../../../src/store/meters.js';
import { connectMeter, count, publish, reading, registerMeter, rejectionCases, startTestGateway, type StatusMessage, subscribeGranted, type TestGateway, type TestMeter, until, watchStatus } from '../../harness/index.js';

let t: TestGateway;
let url: string;
let meter: TestMeter;
let other: TestMeter;
let client: MqttClient;
let status: StatusMessage[];
const topic = () => `meters/${meter.id}/readings`;

beforeAll(async () => {
  t = await startTestGateway({ INGEST_VERIFY_WORKERS: 1 });
  url = t.gateway.urls.mqtt!;
  meter = await registerMeter(t.db.pool);
  other = await registerMeter(t.db.pool);
  client = await connectMeter(url, meter);
  status = await watchStatus(client, meter.id);
});
afterAll(async () => {
  client?.end(true);
  await t?.stop();
});

describe('embedded broker: ingestion', () => {
  it('commits a signed reading before the PUBACK, exactly, and reports it on the status topic', async () => {
    const r = reading(meter, { kwh_amount: '99.123456789' });
    await publish(client, topic(), JSON.stringify(r));
    // The PUBACK has arrived, so the row must already be committed: no polling here.
    const rows = await t.db.pool.query('SELECT meter_id, kwh_amount, wallet_address, signature, minted FROM meter_readings WHERE signature = $1', [r.signature]);
    expect(rows.rows).toEqual([{ meter_id: meter.id, kwh_amount: '99.123456789', wallet_address: meter.owner, signature: r.signature, minted: false }]);
    await until(() => status.some((s) => s.timestamp === r.timestamp), 5_000, 'status message');
    expect(status.find((s) => s.timestamp === r.timestamp)).toMatchObject({ outcome: 'accepted', reason: null });
    const seen = await t.db.pool.query('SELECT last_seen_at FROM meters WHERE id = $1', [meter.id]);
    expect(seen.rows[0].last_seen_at).not.toBeNull();
  });

  it('acknowledges a redelivered reading once more but stores it once (duplicate)', async () => {
    const r = JSON.stringify(reading(meter));
    await Promise.all([publish(client, topic(), r), publish(client, topic(), r)]); // same batch
    await publish(client, topic(), r); // later batch
    expect(await count(t.db.pool, 'SELECT 1 FROM meter_readings WHERE signature = $1', [JSON.parse(r).signature])).toBe(1);
    await until(() => status.filter((s) => s.outcome === 'duplicate').length >= 2, 5_000, 'duplicate status');
  });

  it('rejects a different reading for the same interval as a conflict and quarantines it', async () => {
    const first = reading(meter);
    const second = reading(meter, { timestamp: first.timestamp, kwh_amount: '2' });
    await publish(client, topic(), JSON.stringify(first));
    await publish(client, topic(), JSON.stringify(second));
    const stored = await t.db.pool.query('SELECT kwh_amount FROM meter_readings WHERE meter_id = $1 AND "timestamp" = $2', [meter.id, first.timestamp]);
    expect(stored.rows).toEqual([{ kwh_amount: '1.250000000' }]);
    expect(await count(t.db.pool, "SELECT 1 FROM rejected_readings WHERE reason = 'conflict' AND convert_from(raw, 'UTF8')::jsonb->>'signature' = $1", [second.signature])).toBe(1);
  });

  it('quarantines every kind of bad message with its reason code and tells the meter why', async () => {
    const cases = rejectionCases(meter, other);
    for (const c of cases) await publish(client, topic(), c.payload); // each PUBACKed after its quarantine commit
    const rows = await t.db.pool.query<{ reason: string; raw_size: number; source: string; topic: string }>(
      "SELECT reason, raw_size, source, topic FROM rejected_readings WHERE meter_id IS DISTINCT FROM 'x' AND reason <> 'conflict' ORDER BY id",
    );
    expect(rows.rows.map((r) => r.reason)).toEqual(cases.map((c) => c.reason));
    expect(rows.rows.every((r) => r.source === 'mqtt' && r.topic === topic())).toBe(true);
    expect(rows.rows.find((r) => r.reason === 'too_large')!.raw_size).toBe(5000);
    await until(() => status.filter((s) => s.outcome === 'rejected').length >= cases.length + 1, 5_000, 'rejection statuses');
    const reasons = status.filter((s) => s.outcome === 'rejected').map((s) => s.reason);
    for (const c of cases) expect(reasons).toContain(c.reason);
    const metrics = await (await fetch(`${t.gateway.urls.http}/metrics`)).text();
    expect(metrics).toMatch(/gridmint_readings_rejected_total\{reason="bad_signature"\} 1/);
    expect(metrics).toMatch(/gridmint_readings_accepted_total\{transport="mqtt"\} [1-9]/);
  });

  it('rejects readings of a meter suspended while connected (meter_inactive) within seconds', async () => {
    const m = await registerMeter(t.db.pool);
    const c = await connectMeter(url, m);
    try {
      await setMeterStatus(t.db.pool, m.id, 'suspended');
      // Readings are taken until the meter cache notices (its TTL); then the next one is refused.
      const suspendedAt = Date.now();
      const refused = () => count(t.db.pool, "SELECT 1 FROM rejected_readings WHERE meter_id = $1 AND reason = 'meter_inactive'", [m.id]);
      await until(async () => {
        await publish(c, `meters/${m.id}/readings`, JSON.stringify(reading(m)));
        return (await refused()) > 0;
      }, 15_000, 'a reading refused as meter_inactive');
      expect(await refused()).toBe(1);
      expect(Date.now() - suspendedAt).toBeLessThan(15_000);
      // and it can no longer connect
      await expect(connectMeter(url, m)).rejects.toThrow(/bad username or password|Not authorized/i);
    } finally {
      c.end(true);
    }
  });
});

describe('embedded broker: meter authentication and topic rules', () => {
  it('refuses a wrong password and an unknown meter', async () => {
    await expect(connectMeter(url, { ...meter, password: 'wrong' })).rejects.toThrow(/bad username or password/i);
    await expect(connectMeter(url, { ...meter, id: 'nobody' })).rejects.toThrow(/bad username or password/i);
  });

  it("refuses and quarantines a publish to another meter's topic, without storing it", async () => {
    const c = await connectMeter(url, other);
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    const forged = reading(meter);
    c.publish(`meters/${meter.id}/readings`, JSON.stringify(forged), { qos: 1 });
    await closed; // MQTT 3.1.1 has no negative PUBACK: the broker drops the connection
    c.end(true);
    await until(async () => (await count(t.db.pool, "SELECT 1 FROM rejected_readings WHERE reason = 'forbidden_topic' AND meter_id = $1", [other.id])) === 1, 5_000, 'quarantine');
    expect(await count(t.db.pool, 'SELECT 1 FROM meter_readings WHERE signature = $1', [forged.signature])).toBe(0);
  });

  it('sends status messages only while the meter is subscribed to its status topic', async () => {
    const c = await connectMeter(url, other);
    try {
      const received: string[] = [];
      c.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
      const before = reading(other);
      await publish(c, `meters/${other.id}/readings`, JSON.stringify(before)); // not subscribed yet
      const seen = await watchStatus(c, other.id);
      const during = reading(other);
      await publish(c, `meters/${other.id}/readings`, JSON.stringify(during));
      await until(() => seen.some((s) => s.timestamp === during.timestamp), 5_000, 'status while subscribed');
      await c.unsubscribeAsync(`meters/${other.id}/status`);
      const after = reading(other);
      await publish(c, `meters/${other.id}/readings`, JSON.stringify(after));
      await publish(c, `meters/${other.id}/readings`, JSON.stringify(reading(other))); // a later batch: the earlier status would have arrived
      await new Promise((r) => setTimeout(r, 300));
      expect(seen.map((s) => s.timestamp)).toEqual([during.timestamp]);
      expect(received).toHaveLength(1);
    } finally {
      c.end(true);
    }
  });

  it("refuses a subscription to another meter's status topic or to wildcards", async () => {
    const c = await connectMeter(url, other);
    try {
      expect(await subscribeGranted(c, [`meters/${meter.id}/status`, 'meters/+/readings', '#'])).toEqual([128, 128, 128]);
      expect(await subscribeGranted(c, [`meters/${other.id}/status`])).toEqual([0]);
    } finally {
      c.end(true);
    }
  });
});
