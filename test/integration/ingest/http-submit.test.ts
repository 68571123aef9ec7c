import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, reading, registerMeter, startTestGateway, type TestGateway, type TestMeter } from '../../harness/index.js';

let t: TestGateway;
let meter: TestMeter;
let other: TestMeter;

beforeAll(async () => {
  t = await startTestGateway({ INGEST_VERIFY_WORKERS: 0 });
  meter = await registerMeter(t.db.pool);
  other = await registerMeter(t.db.pool);
});
afterAll(async () => {
  await t?.stop();
});

const wholeSecondNow = () => Math.floor(Date.now() / 1000) * 1000;

async function submit(body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.gateway.urls.http}/api/meters/submit-reading`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('POST /api/meters/submit-reading', () => {
  it('answers 201 with the reading id once stored, then 200 duplicate for the same reading', async () => {
    const r = reading(meter, { kwh_amount: '0.000000001' });
    const first = await submit(r);
    expect(first).toEqual({ status: 201, body: { status: 'accepted', reading_id: expect.any(String) } });
    const stored = await t.db.pool.query('SELECT id::text, kwh_amount FROM meter_readings WHERE signature = $1', [r.signature]);
    expect(stored.rows).toEqual([{ id: first.body.reading_id, kwh_amount: '0.000000001' }]);
    expect(await submit(r)).toEqual({ status: 200, body: { status: 'duplicate', reading_id: first.body.reading_id } });
  });

  it('refuses with the same reason codes as MQTT, quarantining each (source http)', async () => {
    const good = reading(meter);
    const cases: [unknown, number, string][] = [
      ['{"meter_id":', 400, 'invalid_payload'],
      [{ ...reading(meter), extra: 'x' }, 400, 'invalid_payload'],
      [{ ...reading(meter), kwh_amount: 1.5 }, 400, 'invalid_payload'],
      [`{"pad":"${'x'.repeat(5000)}"}`, 413, 'too_large'],
      [{ ...good, kwh_amount: '2' }, 401, 'bad_signature'],
      [reading({ ...meter, id: 'ghost' }), 404, 'unknown_meter'],
      [reading(meter, { kwh_amount: '500' }), 422, 'implausible_energy'],
      [reading(meter, { timestamp: new Date(wholeSecondNow() - 60_000 + 250).toISOString() }), 422, 'misaligned_timestamp'],
      [reading(meter, { timestamp: new Date(wholeSecondNow() - 90_000_000).toISOString() }), 422, 'stale'],
      [reading(meter, { timestamp: new Date(wholeSecondNow() + 3_600_000).toISOString() }), 422, 'future_timestamp'],
      [reading(meter, { wallet_address: '0OIl' }), 422, 'invalid_wallet'],
      [reading(meter, { wallet_address: other.owner }), 422, 'wallet_mismatch'],
    ];
    for (const [body, status, code] of cases) {
      const res = await submit(body);
      expect({ code: res.body.error?.code, status: res.status }).toEqual({ code, status });
      expect(res.body.error.message).toEqual(expect.any(String));
    }
    const reasons = await t.db.pool.query<{ reason: string }>("SELECT reason FROM rejected_readings WHERE source = 'http' ORDER BY id");
    expect(reasons.rows.map((r) => r.reason)).toEqual(cases.map((c) => c[2]));
  });

  it('answers 409 conflict for different content at a stored meter and timestamp', async () => {
    const first = reading(meter);
    expect((await submit(first)).status).toBe(201);
    const res = await submit(reading(meter, { timestamp: first.timestamp, kwh_amount: '3' }));
    expect(res).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect(await count(t.db.pool, 'SELECT 1 FROM meter_readings WHERE meter_id = $1 AND "timestamp" = $2', [meter.id, first.timestamp])).toBe(1);
  });
});
