import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addOcmfMeter, addRegisterMeter, connectMeter, ocmfRecord, publish, registerRead, type RegisterTestMeter, startTestGateway, type TestGateway, until, watchStatus } from '../../harness/index.js';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({ INGEST_VERIFY_WORKERS: 0 });
});
afterAll(async () => {
  await t?.stop();
});

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.gateway.urls.http}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

const base = Date.now() - 6 * 3_600_000;
const at = (h: number) => new Date(base + h * 3_600_000).toISOString();

async function reads(meterId: string) {
  const r = await t.db.pool.query<{ ts: Date; register: string; kwh: string; state: string }>(
    `SELECT "timestamp" AS ts, trim_scale(register_kwh)::text AS register, trim_scale(kwh_amount)::text AS kwh, energy_state AS state
       FROM meter_readings WHERE meter_id = $1 ORDER BY "timestamp"`,
    [meterId],
  );
  return r.rows.map((x) => [x.ts.toISOString(), x.register, x.kwh, x.state]);
}

async function hold(meterId: string): Promise<string | null> {
  const r = await t.db.pool.query<{ s: Date | null }>('SELECT hold_since AS s FROM meters WHERE id = $1', [meterId]);
  return r.rows[0]!.s?.toISOString() ?? null;
}

describe('register JSON over HTTP', () => {
  let m: RegisterTestMeter;
  beforeAll(async () => {
    m = await addRegisterMeter(t.db.pool, { maxKw: '10' });
  });

  it('stores reads with their rise, splits a late read, and answers duplicates 200', async () => {
    expect((await post('/api/meters/submit-reading', registerRead(m, at(0), '1000'))).status).toBe(201);
    expect((await post('/api/meters/submit-reading', registerRead(m, at(2), '1008'))).status).toBe(201);
    const late = registerRead(m, at(1), '1003');
    const first = await post('/api/meters/submit-reading', late);
    expect(first.status).toBe(201);
    expect(await post('/api/meters/submit-reading', late)).toEqual({ status: 200, body: { status: 'duplicate', reading_id: first.body.reading_id } });
    expect(await reads(m.id)).toEqual([
      [at(0), '1000', '0', 'baseline'],
      [at(1), '1003', '3', 'rise'],
      [at(2), '1008', '5', 'rise'],
    ]);
  });

  it('refuses an implausible rise (422) and a different value at a stored time (409), storing nothing', async () => {
    const spike = await post('/api/meters/submit-reading', registerRead(m, at(3), '1100'));
    expect(spike).toMatchObject({ status: 422, body: { error: { code: 'implausible_energy' } } });
    const other = await post('/api/meters/submit-reading', registerRead(m, at(2), '1009'));
    expect(other).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect((await reads(m.id)).length).toBe(3);
    // the spike was never a baseline: the next read rises from 1008
    expect((await post('/api/meters/submit-reading', registerRead(m, at(4), '1020'))).status).toBe(201);
    expect((await reads(m.id)).at(-1)).toEqual([at(4), '1020', '12', 'rise']);
  });

  it('puts the meter on hold on a drop; a rebase resolves it and the drop earns nothing', async () => {
    expect((await post('/api/meters/submit-reading', registerRead(m, at(4.5), '3'))).status).toBe(201);
    expect((await post('/api/meters/submit-reading', registerRead(m, at(5), '5'))).status).toBe(201);
    expect(await hold(m.id)).toBe(at(4.5));
    expect((await reads(m.id)).slice(-2).map((r) => r[3])).toEqual(['held', 'held']);
    const { resolveHold } = await import('../../../src/store/register-meters.js');
    const res = await resolveHold(t.db.pool, { meterId: m.id, kind: 'rebase', at: at(4.5), by: 'test', reason: 'counter reset by the installer' });
    expect(res).toMatchObject({ ok: true, stillOnHold: false });
    expect(await hold(m.id)).toBeNull();
    expect((await reads(m.id)).slice(-2)).toEqual([[at(4.5), '3', '0', 'rebase'], [at(5), '5', '2', 'rise']]);
  });
});

describe('OCMF over MQTT meters/{id}/ocmf (QoS 1)', () => {
  it('stores each RD entry as a register read, reports page gaps and refuses repeats', async () => {
    const m = await addOcmfMeter(t.db.pool, { maxKw: '22', serial: 'GS-1' });
    const c = await connectMeter(t.gateway.urls.mqtt!, { id: m.id, password: m.password } as never);
    const status = await watchStatus(c, m.id);
    try {
      const t0 = new Date(base);
      await publish(c, `meters/${m.id}/ocmf`, ocmfRecord(m, [{ at: t0, kwh: '10.5' }, { at: new Date(base + 900_000), kwh: '12.5' }]));
      await publish(c, `meters/${m.id}/ocmf`, ocmfRecord(m, [{ at: new Date(base + 1_800_000), kwh: '13.000000001' }], { page: 5 })); // pages 2–4 never came
      await publish(c, `meters/${m.id}/ocmf`, ocmfRecord(m, [{ at: new Date(base + 2_700_000), kwh: '14' }], { page: 5 })); // page 5 again, other record
      await until(() => status.length >= 3, 10_000, 'three status messages');
      expect(status.map((s) => [s.outcome, s.reason ?? s.detail])).toEqual([
        ['accepted', null],
        ['accepted', 'ocmf_page_gap'],
        ['rejected', 'ocmf_page_repeat'],
      ]);
      expect((await reads(m.id)).map((r) => r.slice(1))).toEqual([
        ['10.5', '0', 'baseline'],
        ['12.5', '2', 'rise'],
        ['13.000000001', '0.500000001', 'rise'],
      ]);
      const metrics = await (await fetch(`${t.gateway.urls.http}/metrics`)).text();
      expect(metrics).toMatch(/gridmint_ocmf_pages_missing 3/);
    } finally {
      c.end(true);
    }
  });
});
