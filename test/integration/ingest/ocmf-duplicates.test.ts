import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addOcmfMeter, highSTwin, ocmfPayload, ocmfRecord, ocmfSign, ocmfWrap, type OcmfTestMeter, startTestGateway, type TestGateway } from '../../harness/index.js';

/**
 * Duplicates are judged by value (meter, time, register value), never by signature bytes: an
 * ECDSA signature has a malleated twin anyone can compute, and a meter that signs again gets a new
 * one. Neither may ever be new energy, and a record is stored whole or not at all.
 */
let t: TestGateway;
let m: OcmfTestMeter;

beforeAll(async () => {
  t = await startTestGateway({ INGEST_VERIFY_WORKERS: 0 });
  m = await addOcmfMeter(t.db.pool, { maxKw: '22' });
});
afterAll(async () => {
  await t?.stop();
});

const base = Date.now() - 6 * 3_600_000;
const at = (min: number) => new Date(base + min * 60_000);

async function submit(ocmf: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.gateway.urls.http}/api/meters/submit-ocmf`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ meter_id: m.id, ocmf }),
  });
  return { status: res.status, body: await res.json() };
}

async function reads() {
  const r = await t.db.pool.query<{ register: string; kwh: string }>(
    `SELECT trim_scale(register_kwh)::text AS register, trim_scale(kwh_amount)::text AS kwh FROM meter_readings WHERE meter_id = $1 ORDER BY "timestamp"`,
    [m.id],
  );
  return r.rows.map((x) => [x.register, x.kwh]);
}

async function energy(): Promise<string> {
  const r = await t.db.pool.query<{ s: string }>('SELECT trim_scale(coalesce(sum(kwh_amount), 0))::text AS s FROM meter_readings WHERE meter_id = $1', [m.id]);
  return r.rows[0]!.s;
}

async function rejected(reason: string): Promise<number> {
  const text = await (await fetch(`${t.gateway.urls.http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`gridmint_readings_rejected_total{reason="${reason}"}`));
  return Number(line?.split(' ').at(-1) ?? NaN);
}

describe('OCMF duplicates judged by value, not signature', () => {
  let firstId: string;

  it('stores a record once; its high-S twin and a re-signed copy are duplicates of it (200), never new energy', async () => {
    const payload = ocmfPayload(m, [{ at: at(0), kwh: '100' }, { at: at(15), kwh: '101.5' }]);
    const der = ocmfSign(m, payload);
    const first = await submit(ocmfWrap(payload, der));
    expect(first).toEqual({ status: 201, body: { status: 'accepted', reading_id: expect.any(String) } });
    firstId = first.body.reading_id;
    const twin = highSTwin(der);
    expect(twin.equals(der)).toBe(false);
    expect(await submit(ocmfWrap(payload, twin))).toEqual({ status: 200, body: { status: 'duplicate', reading_id: firstId } });
    const resigned = ocmfSign(m, payload);
    expect(resigned.equals(der)).toBe(false);
    expect(await submit(ocmfWrap(payload, resigned))).toEqual({ status: 200, body: { status: 'duplicate', reading_id: firstId } });
    expect(await reads()).toEqual([['100', '0'], ['101.5', '1.5']]);
    expect(await energy()).toBe('1.5');
  });

  it('refuses whole (409 ocmf_read_repeat) a record that repeats a stored read beside a new one; the new read comes later, nothing lost', async () => {
    const before = await rejected('ocmf_read_repeat');
    const res = await submit(ocmfRecord(m, [{ at: at(15), kwh: '101.5' }, { at: at(30), kwh: '103' }]));
    expect(res).toMatchObject({ status: 409, body: { error: { code: 'ocmf_read_repeat' } } });
    expect(await rejected('ocmf_read_repeat')).toBe(before + 1);
    expect(await reads()).toEqual([['100', '0'], ['101.5', '1.5']]);
    const q = await t.db.pool.query<{ reason: string }>("SELECT reason FROM rejected_readings WHERE meter_id = $1 AND reason = 'ocmf_read_repeat'", [m.id]);
    expect(q.rows.length).toBe(1);
    // the page counter of the refused record was not taken: the next one follows on
    expect((await submit(ocmfRecord(m, [{ at: at(30), kwh: '103' }]))).status).toBe(201);
    expect(await energy()).toBe('3');
  });

  it('a different value at a stored time is a conflict (409), whatever the signature', async () => {
    const res = await submit(ocmfRecord(m, [{ at: at(30), kwh: '103.1' }]));
    expect(res).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect(await energy()).toBe('3');
  });

  it('a repeated page counter: the same reads again are a duplicate; other reads under it are refused (ocmf_page_repeat, counted)', async () => {
    const page = ++m.page;
    const payload = ocmfPayload(m, [{ at: at(45), kwh: '104' }], { page });
    expect((await submit(ocmfWrap(payload, ocmfSign(m, payload)))).status).toBe(201);
    // the meter re-sends the page, signed again (as a meter without the record kept would)
    expect((await submit(ocmfWrap(payload, ocmfSign(m, payload)))).body.status).toBe('duplicate');
    const before = await rejected('ocmf_page_repeat');
    const repeat = await submit(ocmfRecord(m, [{ at: at(60), kwh: '105' }], { page }));
    expect(repeat).toMatchObject({ status: 409, body: { error: { code: 'ocmf_page_repeat' } } });
    expect(await rejected('ocmf_page_repeat')).toBe(before + 1);
    // its high-S twin is no way around it
    const twinPayload = ocmfPayload(m, [{ at: at(60), kwh: '105' }], { page });
    const twin = await submit(ocmfWrap(twinPayload, highSTwin(ocmfSign(m, twinPayload))));
    expect(twin).toMatchObject({ status: 409, body: { error: { code: 'ocmf_page_repeat' } } });
    expect(await reads()).toEqual([['100', '0'], ['101.5', '1.5'], ['103', '1.5'], ['104', '1']]);
    // Σ energy = last register − baseline
    expect(await energy()).toBe('4');
  });

  it('the same record, its twin and a re-signed copy sent concurrently store it once', async () => {
    const payload = ocmfPayload(m, [{ at: at(75), kwh: '106' }]);
    const der = ocmfSign(m, payload);
    const answers = await Promise.all([submit(ocmfWrap(payload, der)), submit(ocmfWrap(payload, highSTwin(der))), submit(ocmfWrap(payload, ocmfSign(m, payload)))]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.reading_id)).size).toBe(1);
    expect(await energy()).toBe('6');
  });
});
