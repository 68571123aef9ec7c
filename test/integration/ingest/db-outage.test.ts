import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { createTestDatabase, registerMeter, scrape, startTcpProxy, startTestGateway, streamReadings, type TcpProxy, type TestDatabase, type TestGateway, type TestMeter, until } from '../../harness/index.js';

const MAX_PENDING = 300;
let db: TestDatabase;
let proxy: TcpProxy;
let t: TestGateway;
const clients: MqttClient[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const u = new URL(db.url);
  proxy = await startTcpProxy(u.hostname, Number(u.port || 5432));
  u.host = `127.0.0.1:${proxy.port}`;
  t = await startTestGateway({ DATABASE_URL: u.toString(), INGEST_MAX_PENDING: MAX_PENDING, INGEST_VERIFY_WORKERS: 1 }, { db });
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  await t?.stop();
  await proxy?.close();
  await db?.drop();
});

/** A sample of the gateway's /metrics: `name` and a label, e.g. metric('gridmint_db_errors_total', 'operation="ingest_write"'). */
const metric = (name: string, labels = '') => scrape(t.gateway.urls.http, name, labels);

describe('Postgres unreachable under load', () => {
  it('stops acknowledging, keeps memory bounded, resumes by itself and loses nothing acknowledged', async () => {
    const meters: TestMeter[] = [];
    for (let i = 0; i < 6; i++) meters.push(await registerMeter(db.pool));
    const stream = await streamReadings(t.gateway.urls.mqtt!, meters, { reconnectPeriod: 100, intervalMs: 3 });
    clients.push(...stream.clients);
    const { acked, failed, sent } = stream;
    await until(() => acked.size > 200, 10_000, 'acks before the outage');

    proxy.cut();
    // The gateway has noticed (not ready) and messages pile up unacknowledged: from here on
    // nothing can commit, so no further acknowledgement may arrive.
    await until(async () => (await fetch(`${t.gateway.urls.http}/health/ready`)).status === 503 && (await metric('gridmint_ingest_pending')) > 0, 15_000, 'the outage noticed');
    const ackedEarly = acked.size;
    // Observe the outage for a while (the property is "nothing happens", so it needs a window).
    let maxPending = 0;
    const observeUntil = Date.now() + 3_000;
    while (Date.now() < observeUntil) {
      maxPending = Math.max(maxPending, await metric('gridmint_ingest_pending'));
      await new Promise((r) => setTimeout(r, 100));
    }
    // Nothing can be acknowledged while nothing can commit; the backlog stays within the limit.
    expect(acked.size).toBe(ackedEarly);
    expect(maxPending).toBeGreaterThan(0);
    expect(maxPending).toBeLessThanOrEqual(MAX_PENDING);
    expect((await fetch(`${t.gateway.urls.http}/health/ready`)).status).toBe(503);
    expect(await metric('gridmint_db_errors_total', 'operation="ingest_write"') + await metric('gridmint_db_errors_total', 'operation="meter_lookup"')).toBeGreaterThan(0);

    proxy.restore();
    await until(() => acked.size > ackedEarly + 100, 20_000, 'acknowledgements to resume without intervention');
    stream.stop();
    await stream.settled(30_000, 'not all readings acknowledged after recovery');

    const r = await db.pool.query<{ signature: string }>('SELECT signature FROM meter_readings');
    const stored = new Set(r.rows.map((x) => x.signature));
    expect(stored.size).toBe(r.rows.length); // none twice
    expect([...acked].filter((s) => !stored.has(s))).toEqual([]); // nothing acknowledged lost
    // Every other reading got in too, unless the sender was told its publish failed (never silent).
    expect(sent.filter((s) => !stored.has(s) && !failed.has(s))).toEqual([]);
    console.log(`[db-outage] sent ${sent.length}, acknowledged ${acked.size}, stored ${stored.size}, publish errors reported to the sender ${failed.size}`);
    expect((await fetch(`${t.gateway.urls.http}/health/ready`)).status).toBe(200);
  }, 120_000); // an outage and a recovery on a shared 2-core machine
});
