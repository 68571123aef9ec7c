import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { kwhToBaseUnits, numericToBaseUnits } from '../../../src/domain/kwh.js';
import { connectMeter, publish, reading, registerMeter, startTestGateway, type TestGateway, type TestMeter } from '../../harness/index.js';

let t: TestGateway;
let meter: TestMeter;
let client: MqttClient;
const INTERVAL = 900;
const MAX_KW = '400';

beforeAll(async () => {
  t = await startTestGateway({ INGEST_VERIFY_WORKERS: 1 });
  meter = await registerMeter(t.db.pool, { intervalSeconds: INTERVAL, maxKw: MAX_KW });
  client = await connectMeter(t.gateway.urls.mqtt!, meter);
});
afterAll(async () => {
  client?.end(true);
  await t?.stop();
});

/** A grid point `k` intervals before the latest one (well inside the 24 h window). */
const gridPoint = (k: number) => (Math.floor(Date.now() / 1000 / INTERVAL) - k) * INTERVAL;
/** RFC 3339 for epoch seconds plus a fraction given as 6 digits. */
const stamp = (seconds: number, micros = 0) => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, `.${String(micros).padStart(6, '0')}Z`);

async function send(timestamps: string[], kwh: string): Promise<void> {
  for (const timestamp of timestamps) await publish(client, `meters/${meter.id}/readings`, JSON.stringify(reading(meter, { timestamp, kwh_amount: kwh })));
}

async function acceptedBetween(from: number, to: number): Promise<{ n: number; units: bigint }> {
  const r = await t.db.pool.query<{ kwh_amount: string }>(
    'SELECT kwh_amount::text FROM meter_readings WHERE meter_id = $1 AND "timestamp" BETWEEN to_timestamp($2) AND to_timestamp($3)',
    [meter.id, from, to],
  );
  return { n: r.rows.length, units: r.rows.reduce((s, x) => s + numericToBaseUnits(x.kwh_amount), 0n) };
}

/** max_kw × (span + one interval): the last reading closes an interval that began before the first. */
const ratedEnergy = (spanSeconds: number) => (kwhToBaseUnits(MAX_KW) * BigInt(spanSeconds + INTERVAL)) / 3600n;

describe('physical plausibility: energy is bounded by rated power × elapsed time', () => {
  it('100 signed readings of 90 kWh a microsecond apart earn one interval at most', async () => {
    const t0 = gridPoint(40);
    await send(Array.from({ length: 100 }, (_, i) => stamp(t0, i)), '90');
    const got = await acceptedBetween(t0 - INTERVAL, t0 + 1);
    expect(got).toEqual({ n: 1, units: kwhToBaseUnits('90') }); // only the one exactly on the grid
    expect(got.units).toBeLessThanOrEqual(ratedEnergy(0));
    const q = await t.db.pool.query("SELECT count(*)::int AS n FROM rejected_readings WHERE meter_id = $1 AND reason = 'misaligned_timestamp'", [meter.id]);
    expect(q.rows[0].n).toBe(99);
  });

  it('100 signed readings of 90 kWh a second apart earn one interval at most', async () => {
    const t0 = gridPoint(30);
    await send(Array.from({ length: 100 }, (_, i) => stamp(t0 + i)), '90');
    const got = await acceptedBetween(t0 - INTERVAL, t0 + 100);
    expect(got.n).toBe(1);
    expect(got.units).toBeLessThanOrEqual(ratedEnergy(99));
  });

  it('readings on the grid are accepted up to max_kw × interval, and not beyond', async () => {
    const t0 = gridPoint(20);
    const honest = Array.from({ length: 10 }, (_, i) => stamp(t0 + i * INTERVAL));
    await send(honest, '100'); // 400 kW for 15 minutes, exactly
    await send([stamp(t0 + 10 * INTERVAL)], '100.000000001');
    const got = await acceptedBetween(t0, t0 + 10 * INTERVAL);
    expect(got).toEqual({ n: 10, units: kwhToBaseUnits('1000') });
    expect(got.units).toBeLessThanOrEqual(ratedEnergy(9 * INTERVAL));
    const q = await t.db.pool.query("SELECT detail FROM rejected_readings WHERE meter_id = $1 AND reason = 'implausible_energy'", [meter.id]);
    expect(q.rows.map((r) => r.detail)).toEqual(['100.000000001 kWh exceeds 400 kW × 900 s = 100 kWh']);
  });
});
