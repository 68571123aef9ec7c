import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actor, type Actor, addMeter, addReadings, startTestApi, type TestApi, wallet } from '../../harness/index.js';

let h: TestApi;
let authority: Actor;
let owner: string;
beforeAll(async () => {
  h = await startTestApi();
  authority = actor('rec_authority', 'Green Registry Ltd');
  owner = wallet();
});
afterAll(async () => h?.close());

const issue = (body: unknown, who: Actor = authority) =>
  h.app.inject({ method: 'POST', url: '/api/erc/issue', headers: who.headers, payload: body as object });

async function snapshot() {
  const r = await h.db.pool.query(
    `SELECT (SELECT count(*) FROM erc_certificates)::int AS certs, (SELECT count(*) FROM meter_readings WHERE certificate_id IS NOT NULL)::int AS linked,
            (SELECT count(*) FROM meters)::int AS meters, (SELECT count(*) FROM erc_certificate_transfers)::int AS transfers`,
  );
  return r.rows[0];
}

describe('POST /api/erc/issue', () => {
  it('sums exactly the uncertified readings in (start, end] and records everything', async () => {
    const meter = await addMeter(h.db, owner);
    const ids = await addReadings(h.db, meter, owner, [
      ['2025-03-01T00:00:00Z', '99.999999999'], // at start: ends the interval before the period, excluded
      ['2025-03-01T00:15:00Z', '12345.678901234'],
      ['2025-03-01T00:30:00Z', '0.1'],
      ['2025-03-01T00:45:00Z', '0.2'],
      ['2025-03-01T01:00:00Z', '0.000000001'], // at end: the period's last interval, included
    ]);
    const r = await issue({ meter_id: meter, period_start: '2025-03-01T00:00:00Z', period_end: '2025-03-01T01:00:00Z', metadata: { program: 'GO-EU', vintage: 2025, verified: true } });
    expect(r.statusCode).toBe(201);
    const c = r.json();
    // 12345.678901234 + 0.1 + 0.2 + 0.000000001, exactly (a float would give 12346.078901235001)
    expect(c.kwh_amount).toBe('12345.978901235');
    expect(c.certificate_id).toMatch(/^ERC-\d{4}-\d{6}$/);
    expect(c.certificate_id.slice(4, 8)).toBe(String(new Date().getUTCFullYear()));
    expect(c).toMatchObject({
      status: 'active',
      meter_id: meter,
      owner_wallet: owner,
      issued_to_wallet: owner,
      period_start: '2025-03-01T00:00:00.000Z',
      period_end: '2025-03-01T01:00:00.000Z',
      reading_count: 4,
      reading_ids: ids.slice(1, 5),
      issuer: { wallet: authority.wallet, name: 'Green Registry Ltd' },
      metadata: { program: 'GO-EU', vintage: 2025, verified: true },
      blockchain_tx_signature: null,
      retirement: null,
    });
    expect(c.content_hash).toMatch(/^[0-9a-f]{64}$/);
    const linked = await h.db.pool.query('SELECT id::text FROM meter_readings WHERE certificate_id = $1 ORDER BY id', [c.certificate_id]);
    expect(linked.rows.map((x) => x.id)).toEqual(ids.slice(1, 5));
    const stored = await h.db.pool.query('SELECT kwh_amount::text AS k, issuer_user_id FROM erc_certificates WHERE certificate_id = $1', [c.certificate_id]);
    expect(stored.rows[0]).toEqual({ k: '12345.978901235', issuer_user_id: authority.sub });
  });

  it('numbers certificates sequentially within the year', async () => {
    const meter = await addMeter(h.db, owner);
    await addReadings(h.db, meter, owner, [['2025-04-01T12:00:00Z', '1'], ['2025-04-02T12:00:00Z', '2']]);
    const a = (await issue({ meter_id: meter, period_start: '2025-04-01T00:00:00Z', period_end: '2025-04-01T12:00:00Z' })).json();
    const b = (await issue({ meter_id: meter, period_start: '2025-04-02T00:00:00Z', period_end: '2025-04-02T12:00:00Z' })).json();
    expect(Number(b.certificate_id.slice(-6))).toBe(Number(a.certificate_id.slice(-6)) + 1);
  });

  it('409 when the period overlaps certified readings, and when it holds none', async () => {
    const meter = await addMeter(h.db, owner);
    await addReadings(h.db, meter, owner, [['2025-05-01T10:00:00Z', '1.5'], ['2025-05-01T11:00:00Z', '2.5']]);
    expect((await issue({ meter_id: meter, period_start: '2025-05-01T09:00:00Z', period_end: '2025-05-01T10:30:00Z' })).statusCode).toBe(201);
    const before = await snapshot();
    const overlap = await issue({ meter_id: meter, period_start: '2025-05-01T00:00:00Z', period_end: '2025-05-02T00:00:00Z' });
    expect(overlap.statusCode).toBe(409);
    expect(overlap.json().error.code).toBe('period_overlaps_certified');
    const empty = await issue({ meter_id: meter, period_start: '2025-06-01T00:00:00Z', period_end: '2025-06-02T00:00:00Z' });
    expect(empty.statusCode).toBe(409);
    expect(empty.json().error.code).toBe('no_readings');
    expect(await snapshot()).toEqual(before);
    // the uncertified remainder can still be certified on its own
    const rest = await issue({ meter_id: meter, period_start: '2025-05-01T10:30:00Z', period_end: '2025-05-02T00:00:00Z' });
    expect(rest.json().kwh_amount).toBe('2.5');
  });

  it('404 for an unknown meter, 400 for a backwards or over-long period', async () => {
    expect((await issue({ meter_id: 'no-such-meter', period_start: '2025-01-01T00:00:00Z', period_end: '2025-01-02T00:00:00Z' })).statusCode).toBe(404);
    const meter = await addMeter(h.db, owner);
    const back = await issue({ meter_id: meter, period_start: '2025-01-02T00:00:00Z', period_end: '2025-01-01T00:00:00Z' });
    expect(back.statusCode).toBe(400);
    expect(back.json().error.code).toBe('invalid_period');
    expect((await issue({ meter_id: meter, period_start: '2023-01-01T00:00:00Z', period_end: '2025-01-01T00:00:00Z' })).statusCode).toBe(400);
  });

  it('401 without a token, 403 for users and admins', async () => {
    const body = { meter_id: 'x', period_start: '2025-01-01T00:00:00Z', period_end: '2025-01-02T00:00:00Z' };
    expect((await h.app.inject({ method: 'POST', url: '/api/erc/issue', payload: body })).statusCode).toBe(401);
    expect((await issue(body, actor('user'))).statusCode).toBe(403);
    expect((await issue(body, actor('admin'))).statusCode).toBe(403);
  });

  it('rejects SQL-looking and oversized input by schema, changing nothing', async () => {
    const meter = await addMeter(h.db, owner);
    await addReadings(h.db, meter, owner, [['2025-07-01T00:00:00Z', '3']]);
    const before = await snapshot();
    const good = { meter_id: meter, period_start: '2025-07-01T00:00:00Z', period_end: '2025-07-02T00:00:00Z' };
    const bad: unknown[] = [
      { ...good, meter_id: "x'; DROP TABLE erc_certificates; --" },
      { ...good, meter_id: `${meter}' OR '1'='1` },
      { ...good, period_start: "2025-07-01' OR 1=1 --" },
      { ...good, period_start: '2025-07-01T00:00:00.123456Z' }, // sub-millisecond: not stored exactly
      { ...good, kwh_amount: '1000000' }, // the server computes kWh; the caller cannot send it
      { ...good, metadata: { "k'; DELETE FROM users; --": 1 } },
      { ...good, metadata: { note: 'x'.repeat(2000) } },
      { ...good, metadata: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])) },
      { ...good, metadata: { nested: { a: 1 } } },
      { ...good, metadata: { big: 'y'.repeat(1000), b2: 'y'.repeat(1000), b3: 'y'.repeat(1000), b4: 'y'.repeat(1000), b5: 'y'.repeat(1000) } },
      { ...good, meter_id: 'm'.repeat(65) },
    ];
    for (const body of bad) {
      const r = await issue(body);
      expect(r.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.json().error.code).toMatch(/invalid_request|invalid_metadata/);
    }
    const huge = await h.app.inject({
      method: 'POST',
      url: '/api/erc/issue',
      headers: { ...authority.headers, 'content-type': 'application/json' },
      payload: JSON.stringify({ ...good, metadata: { a: 'z'.repeat(100_000) } }),
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('too_large');
    expect(await snapshot()).toEqual(before);
    const tables = await h.db.pool.query("SELECT count(*)::int AS n FROM pg_tables WHERE tablename IN ('erc_certificates', 'users', 'meters')");
    expect(tables.rows[0].n).toBe(3);
  });

  it('two authorities issuing overlapping periods at the same instant yield exactly one certificate', async () => {
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    const meter = await addMeter(h.db, owner);
    const stamps = Array.from({ length: 96 }, (_, i) => new Date(Date.UTC(2025, 7, 1) + i * 900_000).toISOString());
    await addReadings(h.db, meter, owner, stamps.map((t) => [t, '0.333333333']));
    const authorities = [actor('rec_authority', 'A'), actor('rec_authority', 'B'), actor('rec_authority', 'C'), actor('rec_authority', 'D')];
    const periods = [
      ['2025-08-01T00:00:00Z', '2025-08-02T00:00:00Z'],
      ['2025-08-01T06:00:00Z', '2025-08-01T18:00:00Z'],
      ['2025-07-31T00:00:00Z', '2025-08-01T12:00:00Z'],
      ['2025-08-01T00:00:00Z', '2025-08-02T00:00:00Z'],
    ];
    const results = await Promise.all(
      authorities.map((a, i) =>
        fetch(`${base}/api/erc/issue`, {
          method: 'POST',
          headers: { ...a.headers, 'content-type': 'application/json' },
          body: JSON.stringify({ meter_id: meter, period_start: periods[i]![0], period_end: periods[i]![1] }),
        }).then(async (r) => ({ status: r.status, body: await r.json() })),
      ),
    );
    const ok = results.filter((r) => r.status === 201);
    expect(ok).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(3);
    const certs = await h.db.pool.query('SELECT certificate_id, reading_count FROM erc_certificates WHERE meter_id = $1', [meter]);
    expect(certs.rows).toHaveLength(1);
    const linked = await h.db.pool.query('SELECT count(*)::int AS n, count(DISTINCT certificate_id)::int AS c FROM meter_readings WHERE meter_id = $1 AND certificate_id IS NOT NULL', [meter]);
    expect(linked.rows[0]).toEqual({ n: certs.rows[0].reading_count, c: 1 });
  });

  // One certificate per reading is enforced by issuance's conditional link (see the concurrent
  // test above); the database itself only guarantees that a link points at a real certificate.
  it('the database refuses to link a reading to a certificate that does not exist (foreign key)', async () => {
    const meter = await addMeter(h.db, owner);
    const [id] = await addReadings(h.db, meter, owner, [['2025-09-01T00:00:00Z', '1']]);
    await expect(h.db.pool.query("UPDATE meter_readings SET certificate_id = 'ERC-2099-999999' WHERE id = $1", [id])).rejects.toThrow(/foreign key/);
  });
});
