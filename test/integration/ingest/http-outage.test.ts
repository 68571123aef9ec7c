import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, createTestDatabase, reading, registerMeter, startTcpProxy, startTestGateway, type TcpProxy, type TestDatabase, type TestGateway, type TestMeter, until } from '../../harness/index.js';

/**
 * Issue 12 A2 (README "Over HTTP"): while the database is unreachable, submit answers 503
 * `unavailable` (not stored, retry); a retry of a reading that did get stored meanwhile answers
 * 200 `duplicate` with the same id, and one that was refused outright is accepted (201).
 */
const MAX_PENDING = 100;
let db: TestDatabase;
let proxy: TcpProxy;
let t: TestGateway;
let meter: TestMeter;

beforeAll(async () => {
  db = await createTestDatabase();
  const u = new URL(db.url);
  proxy = await startTcpProxy(u.hostname, Number(u.port || 5432));
  u.host = `127.0.0.1:${proxy.port}`;
  // At most MAX_PENDING messages wait for the database; the next one is refused at once (memory bound).
  t = await startTestGateway({ DATABASE_URL: u.toString(), INGEST_MAX_PENDING: MAX_PENDING, INGEST_VERIFY_WORKERS: 0, RATE_LIMIT_WRITES_PER_MINUTE: 10_000 }, { db });
  meter = await registerMeter(db.pool);
});
afterAll(async () => {
  await t?.stop();
  await proxy?.close();
  await db?.drop();
});

async function submit(body: unknown): Promise<{ status: number; retryAfter: string | null; body: any }> {
  const res = await fetch(`${t.gateway.urls.http}/api/meters/submit-reading`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
}

const stored = (sig: string) => count(db.pool, 'SELECT 1 FROM meter_readings WHERE signature = $1', [sig]);

describe('HTTP submit during a database outage', () => {
  it('503 unavailable while down; the retry answers 200 duplicate if the first attempt committed, 201 if not', { timeout: 90_000 }, async () => {
    const warm = reading(meter);
    expect((await submit(warm)).status).toBe(201); // the meter is known and cached before the cut

    proxy.cut();
    const first = reading(meter, { kwh_amount: '0.000000001' });
    const second = reading(meter, { kwh_amount: '2' });
    const waiting = submit(first); // held: the pipeline keeps retrying the write in the background
    const fillers = Array.from({ length: MAX_PENDING - 1 }, () => submit(reading(meter)));
    await until(async () => (await fetch(`${t.gateway.urls.http}/metrics`).then((r) => r.text())).includes(`gridmint_ingest_pending ${MAX_PENDING}`), 20_000, 'the pipeline full');
    const refused = await submit(second); // over INGEST_MAX_PENDING: refused at once, never stored
    expect(refused).toEqual({ status: 503, retryAfter: '5', body: { error: { code: 'unavailable', message: expect.any(String) } } });

    const answered = await waiting; // the commit timeout passes with the database still away
    expect(answered).toEqual({ status: 503, retryAfter: '5', body: { error: { code: 'unavailable', message: expect.any(String) } } });
    expect(await stored(first.signature)).toBe(0);
    for (const f of await Promise.all(fillers)) expect(f.status).toBe(503);

    proxy.restore();
    // The first attempt was only delayed: it commits by itself once the database is back.
    await until(async () => (await stored(first.signature)) === 1, 30_000, 'the delayed write to commit');
    const id = (await db.pool.query<{ id: string }>('SELECT id::text FROM meter_readings WHERE signature = $1', [first.signature])).rows[0]!.id;
    expect(await submit(first)).toEqual({ status: 200, retryAfter: null, body: { status: 'duplicate', reading_id: id } });

    expect(await stored(second.signature)).toBe(0);
    const retried = await submit(second);
    expect(retried).toEqual({ status: 201, retryAfter: null, body: { status: 'accepted', reading_id: expect.any(String) } });
    expect(await stored(second.signature)).toBe(1);
  });
});
