import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectMeter, count, publish, reading, registerMeter, scrape, startTestGateway, type TestGateway, type TestMeter } from '../../harness/index.js';

// PostgreSQL itself is made to refuse chosen rows (a trigger raising a chosen SQLSTATE), so the
// pipeline meets real server errors of each kind: data (22023), unrecognised (XX000) and
// serialization failure (40001), for a reading or for its quarantine row.

let t: TestGateway;
let meters: TestMeter[];
let clients: MqttClient[];

beforeAll(async () => {
  // A long verify wait gathers messages published together into a chunk per verifier slot (two).
  t = await startTestGateway({ INGEST_VERIFY_WORKERS: 0, INGEST_BATCH_WAIT_MS: 150 });
  await t.db.pool.query(`
    CREATE TABLE test_faults (kwh numeric PRIMARY KEY, sqlstate text NOT NULL);
    CREATE FUNCTION test_reading_fault() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE s text;
    BEGIN
      SELECT sqlstate INTO s FROM test_faults WHERE kwh = NEW.kwh_amount;
      IF s IS NOT NULL THEN RAISE EXCEPTION 'injected fault for % kWh', NEW.kwh_amount USING ERRCODE = s; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER test_reading_fault BEFORE INSERT ON meter_readings FOR EACH ROW EXECUTE FUNCTION test_reading_fault();
    CREATE FUNCTION test_quarantine_fault() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF position('DROPME'::bytea IN NEW.raw) > 0 THEN RAISE EXCEPTION 'injected quarantine fault' USING ERRCODE = '22023'; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER test_quarantine_fault BEFORE INSERT ON rejected_readings FOR EACH ROW EXECUTE FUNCTION test_quarantine_fault();
  `);
  meters = [await registerMeter(t.db.pool), await registerMeter(t.db.pool), await registerMeter(t.db.pool)];
  clients = await Promise.all(meters.map((m) => connectMeter(t.gateway.urls.mqtt!, m)));
});
afterAll(async () => {
  for (const c of clients ?? []) c.end(true);
  await t?.stop();
});
beforeEach(async () => {
  await t.db.pool.query('DELETE FROM test_faults');
});

/** A sample of the gateway's /metrics: `name` and a label, e.g. metric('gridmint_db_errors_total', 'operation="ingest_write"'). */
const metric = (name: string, labels = '') => scrape(t.gateway.urls.http, name, labels);

/** 30 honest readings from three meters plus `poison` from the first, all published at once. */
async function batchWithPoison(poison: string): Promise<{ good: string[] }> {
  const good = meters.flatMap((m) => Array.from({ length: 10 }, () => reading(m)));
  const batchesBefore = await metric('gridmint_ingest_batch_size_count');
  const smallBefore = await metric('gridmint_ingest_batch_size_bucket', 'le="10"');
  await Promise.all([
    ...good.slice(0, 15).map((r) => publish(clients[meters.findIndex((m) => m.id === r.meter_id)]!, `meters/${r.meter_id}/readings`, JSON.stringify(r))),
    publish(clients[0]!, `meters/${meters[0]!.id}/readings`, poison),
    ...good.slice(15).map((r) => publish(clients[meters.findIndex((m) => m.id === r.meter_id)]!, `meters/${r.meter_id}/readings`, JSON.stringify(r))),
  ]);
  // Every PUBACK arrived, and the 31 messages were committed in one or two batches (one per
  // verification chunk) of more than 10 each: the poison shared its batch with honest readings.
  expect(await metric('gridmint_ingest_batch_size_count')).toBeLessThanOrEqual(batchesBefore + 2);
  expect(await metric('gridmint_ingest_batch_size_bucket', 'le="10"')).toBe(smallBefore);
  const stored = await count(t.db.pool, 'SELECT 1 FROM meter_readings WHERE signature = ANY($1::text[])', [good.map((r) => r.signature)]);
  expect(stored).toBe(good.length);
  return { good: good.map((r) => r.signature) };
}

describe('poison isolation', () => {
  it('bisects a batch the database refuses for one row: the others are stored, that one quarantined', async () => {
    await t.db.pool.query("INSERT INTO test_faults VALUES (7.777, '22023')");
    const poison = reading(meters[0]!, { kwh_amount: '7.777' });
    const writeErrors = await metric('gridmint_db_errors_total', 'operation="ingest_write"');
    await batchWithPoison(JSON.stringify(poison));
    expect(await count(t.db.pool, 'SELECT 1 FROM meter_readings WHERE signature = $1', [poison.signature])).toBe(0);
    const q = await t.db.pool.query("SELECT reason, detail FROM rejected_readings WHERE convert_from(raw, 'UTF8') LIKE $1", [`%${poison.signature}%`]);
    expect(q.rows).toEqual([{ reason: 'invalid_payload', detail: expect.stringMatching(/^database refused the reading: injected fault/) }]);
    // one failed attempt per level of the split, not a retry loop
    const failed = (await metric('gridmint_db_errors_total', 'operation="ingest_write"')) - writeErrors;
    expect(failed).toBeGreaterThanOrEqual(2);
    expect(failed).toBeLessThanOrEqual(8);
  });

  it('retries an unrecognised error a bounded number of times, then isolates it as unprocessable', async () => {
    await t.db.pool.query("INSERT INTO test_faults VALUES (8.888, 'XX000')");
    const poison = reading(meters[0]!, { kwh_amount: '8.888' });
    const writeErrors = await metric('gridmint_db_errors_total', 'operation="ingest_write"');
    await batchWithPoison(JSON.stringify(poison));
    const failed = (await metric('gridmint_db_errors_total', 'operation="ingest_write"')) - writeErrors;
    expect(failed).toBeGreaterThanOrEqual(5); // five attempts on the whole batch, then one per split level
    expect(failed).toBeLessThanOrEqual(5 + 2 * 6);
    const q = await t.db.pool.query("SELECT reason FROM rejected_readings WHERE convert_from(raw, 'UTF8') LIKE $1", [`%${poison.signature}%`]);
    expect(q.rows).toEqual([{ reason: 'unprocessable' }]);
  });

  it('acknowledges and counts as dropped a message whose quarantine write fails too', async () => {
    const dropped = await metric('gridmint_ingest_dropped_total', 'reason="invalid_payload"');
    await batchWithPoison('{"DROPME": not json');
    expect(await count(t.db.pool, "SELECT 1 FROM rejected_readings WHERE position('DROPME'::bytea IN raw) > 0")).toBe(0);
    expect(await metric('gridmint_ingest_dropped_total', 'reason="invalid_payload"')).toBe(dropped + 1);
  });

  it('holds the acknowledgement through a transient failure and stores the reading once it passes', async () => {
    await t.db.pool.query("INSERT INTO test_faults VALUES (9.999, '40001')");
    const r = reading(meters[1]!, { kwh_amount: '9.999' });
    let acked = false;
    const published = publish(clients[1]!, `meters/${meters[1]!.id}/readings`, JSON.stringify(r)).then(() => (acked = true));
    const before = await metric('gridmint_db_errors_total', 'operation="ingest_write"');
    const deadline = Date.now() + 10_000;
    while ((await metric('gridmint_db_errors_total', 'operation="ingest_write"')) < before + 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(acked).toBe(false); // retried (three failures seen), not quarantined, not acknowledged
    await t.db.pool.query('DELETE FROM test_faults');
    await published;
    expect(await count(t.db.pool, 'SELECT 1 FROM meter_readings WHERE signature = $1', [r.signature])).toBe(1);
    expect(await count(t.db.pool, "SELECT 1 FROM rejected_readings WHERE convert_from(raw, 'UTF8') LIKE $1", [`%${r.signature}%`])).toBe(0);
  });
});
