import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addOcmfMeter, ocmfRecord, type OcmfTestMeter, reading, registerMeter, startTestGateway, type TestGateway, type TestMeter } from '../../harness/index.js';

/** POST /api/meters/submit-ocmf answers like submit-reading: 201 / 200 duplicate / the same error shapes. */
let t: TestGateway;
let m: OcmfTestMeter;
let json: TestMeter;

beforeAll(async () => {
  t = await startTestGateway({ INGEST_VERIFY_WORKERS: 0 });
  m = await addOcmfMeter(t.db.pool, { maxKw: '22', serial: 'GS-1' });
  json = await registerMeter(t.db.pool);
});
afterAll(async () => {
  await t?.stop();
});

const base = Date.now() - 3 * 3_600_000;
const at = (min: number) => new Date(base + min * 60_000);

async function post(url: string, payload: string, contentType = 'application/json') {
  const res = await t.gateway.app.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload });
  return { status: res.statusCode, body: res.json() as any };
}
const ocmf = (body: unknown, contentType?: string) => post('/api/meters/submit-ocmf', typeof body === 'string' ? body : JSON.stringify(body), contentType);
const jsonReading = (body: unknown, contentType?: string) => post('/api/meters/submit-reading', typeof body === 'string' ? body : JSON.stringify(body), contentType);
const errorShape = { error: { code: expect.any(String), message: expect.any(String) } };

describe('POST /api/meters/submit-ocmf', () => {
  it('answers 201 accepted with the first read id, then 200 duplicate with the same id', async () => {
    const record = ocmfRecord(m, [{ at: at(0), kwh: '50' }, { at: at(15), kwh: '51.25' }]);
    const first = await ocmf({ meter_id: m.id, ocmf: record });
    expect(first).toEqual({ status: 201, body: { status: 'accepted', reading_id: expect.any(String) } });
    const row = await t.db.pool.query<{ id: string }>('SELECT id::text FROM meter_readings WHERE meter_id = $1 ORDER BY "timestamp" LIMIT 1', [m.id]);
    expect(first.body.reading_id).toBe(row.rows[0]!.id);
    expect(await ocmf({ meter_id: m.id, ocmf: record })).toEqual({ status: 200, body: { status: 'duplicate', reading_id: first.body.reading_id } });
    // the same two answers, same shape, as submit-reading gives
    const r = reading(json);
    expect((await jsonReading(r)).body).toEqual({ status: 'accepted', reading_id: expect.any(String) });
    expect((await jsonReading(r)).body).toEqual({ status: 'duplicate', reading_id: expect.any(String) });
  });

  it('refuses with the reason codes and error shape of submit-reading, quarantining what reached ingestion', async () => {
    const good = ocmfRecord(m, [{ at: at(30), kwh: '52' }]);
    const tampered = good.replace('"RV" : "52"', '"RV" : "62"');
    const otherKey = await addOcmfMeter(t.db.pool);
    const cases: { name: string; ocmf: [unknown, string?]; reading: [unknown, string?]; status: number; code: string }[] = [
      { name: 'tampered record', ocmf: [{ meter_id: m.id, ocmf: tampered }], reading: [{ ...reading(json), kwh_amount: '2' }], status: 401, code: 'bad_signature' },
      { name: 'signed by another key', ocmf: [{ meter_id: m.id, ocmf: ocmfRecord(otherKey, [{ at: at(30), kwh: '52' }]) }], reading: [{ ...reading(json), signature: reading(json).signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }], status: 401, code: 'bad_signature' },
      { name: 'unknown meter', ocmf: [{ meter_id: 'ghost-ocmf', ocmf: good }], reading: [reading({ ...json, id: 'ghost' })], status: 404, code: 'unknown_meter' },
      { name: 'not a record', ocmf: [{ meter_id: m.id, ocmf: 'OCMF|{"RD":[]}' }], reading: ['{"meter_id":'], status: 400, code: 'invalid_payload' },
      { name: 'wrong content type', ocmf: [JSON.stringify({ meter_id: m.id, ocmf: good }), 'text/plain'], reading: [JSON.stringify(reading(json)), 'text/plain'], status: 415, code: 'unsupported_media_type' },
    ];
    for (const c of cases) {
      const a = await ocmf(...c.ocmf);
      const b = await jsonReading(...c.reading);
      expect({ name: c.name, status: a.status, code: a.body.error?.code }).toEqual({ name: c.name, status: c.status, code: c.code });
      expect({ name: c.name, status: b.status, code: b.body.error?.code }).toEqual({ name: c.name, status: c.status, code: c.code });
      expect(a.body).toEqual(errorShape);
      expect(Object.keys(a.body.error).sort()).toEqual(Object.keys(b.body.error).sort());
    }
    const q = await t.db.pool.query<{ reason: string; topic: string }>(
      "SELECT reason, topic FROM rejected_readings WHERE source = 'http' AND topic = 'http:/api/meters/submit-ocmf' ORDER BY id",
    );
    expect(q.rows.map((r) => r.reason)).toEqual(['bad_signature', 'bad_signature', 'unknown_meter', 'invalid_payload']);
    // the genuine record is still accepted after all that
    expect((await ocmf({ meter_id: m.id, ocmf: good })).status).toBe(201);
  });

  it('refuses a body that is not {meter_id, ocmf} before ingestion, with the same error shape', async () => {
    for (const body of [{ meter_id: m.id }, { ocmf: 'OCMF|{}|{}' }, { meter_id: m.id, ocmf: 'x', extra: 1 }, []]) {
      const a = await ocmf(body);
      expect(a.status).toBe(400);
      expect(a.body).toEqual(errorShape);
    }
  });
});
