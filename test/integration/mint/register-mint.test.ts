import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actor, addOcmfMeter, addRegisterMeter, connectMeter, ocmfRecord, type OcmfTestMeter, publish, registerRead, type RegisterTestMeter, SECRET, startTestGateway, type TestGateway } from '../../harness/index.js';

/**
 * Register meters end to end on real parts: MQTT (embedded broker, QoS 1: the PUBACK means
 * committed) → PostgreSQL → the SPL token program on the embedded ledger → certificates.
 */
let t: TestGateway;
const admin = actor('admin');
const authority = actor('rec_authority');
const H = 3_600_000;
const base = Math.floor((Date.now() - 20 * H) / H) * H;
const at = (h: number) => new Date(base + h * H).toISOString();

beforeAll(async () => {
  t = await startTestGateway({ INGEST_VERIFY_WORKERS: 0, JWT_SECRET: SECRET, MINT_SCHEDULE: '0 0 1 1 *' });
});
afterAll(async () => {
  await t?.stop();
});

async function api(method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${t.gateway.urls.http}${path}`, {
    method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function mintRun(): Promise<void> {
  const r = await api('POST', '/api/admin/tokens/mint-run', admin.headers);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

async function supply(): Promise<bigint> {
  const r = await api('GET', '/api/tokens/info', admin.headers);
  return BigInt(r.body.supply_base_units ?? '0');
}

/** Σ energy of the meter's reads, in base units, computed by Postgres from the NUMERIC column. */
async function earned(meterId: string, onlyMinted = false): Promise<bigint> {
  const r = await t.db.pool.query<{ s: string }>(
    `SELECT (coalesce(sum(kwh_amount), 0) * 1000000000)::numeric(40,0)::text AS s FROM meter_readings WHERE meter_id = $1 ${onlyMinted ? 'AND minted' : ''}`,
    [meterId],
  );
  return BigInt(r.rows[0]!.s);
}

async function states(meterId: string) {
  const r = await t.db.pool.query<{ h: number; kwh: string; state: string }>(
    `SELECT extract(epoch FROM "timestamp" - $2::timestamptz) / 3600 AS h, trim_scale(kwh_amount)::text AS kwh, energy_state AS state
       FROM meter_readings WHERE meter_id = $1 ORDER BY "timestamp"`,
    [meterId, at(0)],
  );
  return r.rows.map((x) => [Number(x.h), x.kwh, x.state]);
}

describe('register meter: rollover, lost message, late read after minting, regression on hold, exchange', () => {
  let m: RegisterTestMeter;
  let c: MqttClient;
  const sent: string[] = [];
  const send = async (h: number, kwh: string) => {
    const msg = JSON.stringify(registerRead(m, at(h), kwh));
    sent.push(msg);
    await publish(c, `meters/${m.id}/readings`, msg);
  };

  beforeAll(async () => {
    m = await addRegisterMeter(t.db.pool, { registerModulus: '1000000', maxKw: '10' });
    c = await connectMeter(t.gateway.urls.mqtt!, m as never);
  });
  afterAll(() => c?.end(true));

  it('mints exactly the register rises; supply = Σ earned energy × 10^9', async () => {
    await send(0, '999990');
    await send(1, '999995');
    await send(3, '999999.5'); // the message at hour 2 is lost: hour 3 carries both hours
    await send(4, '3'); // the 6-digit register wrapped: 1000000 − 999999.5 + 3
    await mintRun();
    expect(await states(m.id)).toEqual([[0, '0', 'baseline'], [1, '5', 'rise'], [3, '4.5', 'rise'], [4, '3.5', 'rollover']]);
    expect(await supply()).toBe(13n * 10n ** 9n);
    expect(await earned(m.id, true)).toBe(13n * 10n ** 9n);
  });

  it('a late read inside a minted rise is stored with 0 energy; nothing is minted twice', async () => {
    await send(2, '999997');
    await mintRun();
    expect((await states(m.id))[2]).toEqual([2, '0', 'late']);
    expect(await supply()).toBe(13n * 10n ** 9n);
  });

  it('a drop puts the meter on hold (no energy, no minting, no certificate) until `meter replace`', async () => {
    await send(5, '1');
    await send(6, '2');
    await mintRun();
    expect((await states(m.id)).slice(-2)).toEqual([[5, '0', 'held'], [6, '0', 'held']]);
    expect(await supply()).toBe(13n * 10n ** 9n);
    const metrics = await (await fetch(`${t.gateway.urls.http}/metrics`)).text();
    expect(metrics).toMatch(/^gridmint_meters_on_hold 1$/m);
    // the exchange: the old meter ended at 5 at hour 4.5; the new one started at 0
    const r = await api('POST', `/api/admin/meters/${m.id}/replace`, admin.headers, { at: new Date(base + 4.5 * H).toISOString(), final_register: '5', new_initial: '0', reason: 'meter exchanged by the DSO' });
    expect(r).toMatchObject({ status: 200, body: { still_on_hold: false, reads_changed: 2 } });
    const who = await t.db.pool.query('SELECT kind, resolved_by, reason FROM register_resolutions WHERE meter_id = $1', [m.id]);
    expect(who.rows).toEqual([{ kind: 'replace', resolved_by: `api:${admin.sub}`, reason: 'meter exchanged by the DSO' }]);
    await mintRun();
    expect((await states(m.id)).slice(-2)).toEqual([[5, '3', 'exchange'], [6, '1', 'rise']]); // (5 − 3) + (1 − 0), then 2 − 1
    expect(await supply()).toBe(17n * 10n ** 9n);
  });

  it('certificates take whole spans: a boundary inside a span is 409 period_splits_reading', async () => {
    const split = await api('POST', '/api/erc/issue', authority.headers, { meter_id: m.id, period_start: at(0), period_end: at(2) });
    expect(split).toMatchObject({ status: 409, body: { error: { code: 'period_splits_reading' } } });
    expect(split.body.error.message).toContain(`(${at(1)}, ${at(3)}]`);
    const ok = await api('POST', '/api/erc/issue', authority.headers, { meter_id: m.id, period_start: at(0), period_end: at(4) });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.kwh_amount).toBe('13');
  });

  it('a replay of every message, in any order, changes nothing', async () => {
    const before = await states(m.id);
    const order = fc.sample(fc.shuffledSubarray(sent, { minLength: sent.length, maxLength: sent.length }), 1)[0]!;
    for (const msg of order) await publish(c, `meters/${m.id}/readings`, msg);
    await mintRun();
    expect(await states(m.id)).toEqual(before);
    expect(await supply()).toBe(await earned(m.id));
    expect(await supply()).toBe(17n * 10n ** 9n);
  });
});

describe('OCMF meter: out-of-order and duplicate records, then minting', () => {
  it('earns the same energy whatever the arrival order; supply = Σ earned × 10^9', async () => {
    const m: OcmfTestMeter = await addOcmfMeter(t.db.pool, { maxKw: '22' });
    const c = await connectMeter(t.gateway.urls.mqtt!, m as never);
    try {
      const values = ['100', '101.25', '103', '103', '107.000000001'];
      const records = values.map((v, i) => ocmfRecord(m, [{ at: new Date(base + (8 + i) * H), kwh: v }], { page: i + 1 }));
      for (const i of [3, 0, 4, 1, 2, 2, 0]) await publish(c, `meters/${m.id}/ocmf`, records[i]!); // out of order, with duplicates
      const before = await supply();
      await mintRun();
      expect(await earned(m.id)).toBe(7_000_000_001n);
      expect((await supply()) - before).toBe(7_000_000_001n);
    } finally {
      c.end(true);
    }
  });
});
