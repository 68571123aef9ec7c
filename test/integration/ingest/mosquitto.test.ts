import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { generatePassword, hashPassword } from '../../../src/domain/credential.js';
import { mosquittoPasswordLines } from '../../../src/store/meters.js';
import { connectMeter, count, createTestDatabase, publish, reading, registerMeter, rejectionCases, startMosquitto, startTestGateway, type StatusMessage, subscribeGranted, type TestDatabase, type TestGateway, type TestMeter, type TestMosquitto, until, watchStatus, addOcmfMeter, ocmfRecord, type OcmfTestMeter } from '../../harness/index.js';
import { selectMintCandidates } from '../../../src/store/mint-readings.js';

let db: TestDatabase;
let mosq: TestMosquitto | null = null;
let t: TestGateway | null = null;
let meter: TestMeter;
let other: TestMeter;
let ocmfMeter: OcmfTestMeter;
let client: MqttClient;
let status: StatusMessage[];
const topic = () => `meters/${meter.id}/readings`;
const stored = (sig: string) => count(db.pool, 'SELECT 1 FROM meter_readings WHERE signature = $1', [sig]);

beforeAll(async () => {
  db = await createTestDatabase();
  meter = await registerMeter(db.pool);
  other = await registerMeter(db.pool);
  ocmfMeter = await addOcmfMeter(db.pool, { maxKw: '22' });
  const gatewayPassword = generatePassword();
  // The password file is exactly what `gridmint meter passwd-file` prints, plus the gateway user.
  mosq = await startMosquitto([...(await mosquittoPasswordLines(db.pool)), `gridmint-gateway:${hashPassword(gatewayPassword)}`]);
  if (!mosq) return;
  t = await startTestGateway(
    { MQTT_URL: mosq.gatewayUrl, MQTT_USERNAME: 'gridmint-gateway', MQTT_PASSWORD: gatewayPassword, MQTT_SUBSCRIBER_CONNECTIONS: 2, MQTT_CLIENT_ID: `gw-${process.pid}` },
    { db },
  );
  await until(async () => (await fetch(`${t!.gateway.urls.http}/health/ready`)).status === 200, 10_000, 'gateway ready (subscribed)');
  client = await connectMeter(mosq.url, meter);
  status = await watchStatus(client, meter.id);
});
afterAll(async () => {
  client?.end(true);
  await t?.stop();
  await mosq?.stop();
  await db?.drop();
});

describe('Mosquitto (external broker) ingestion', () => {
  it('lets a meter registered by gridmint log in with its $7$ hash and stores its readings', async (ctx) => {
    if (!mosq) return ctx.skip();
    const r = reading(meter, { kwh_amount: '7.000000001' });
    await publish(client, topic(), JSON.stringify(r));
    await until(() => status.some((s) => s.timestamp === r.timestamp), 10_000, 'status after commit');
    expect(status.find((s) => s.timestamp === r.timestamp)).toMatchObject({ outcome: 'accepted', reading_id: expect.any(String) });
    const rows = await db.pool.query('SELECT kwh_amount FROM meter_readings WHERE signature = $1', [r.signature]);
    expect(rows.rows).toEqual([{ kwh_amount: '7.000000001' }]);
  });

  it('stores a redelivered reading once and rejects a conflicting one', async (ctx) => {
    if (!mosq) return ctx.skip();
    const r = reading(meter);
    const clash = reading(meter, { timestamp: r.timestamp, kwh_amount: '9' });
    // One at a time: Mosquitto spreads a shared subscription over the gateway's connections, so
    // messages published back to back may reach it in another order (the first to commit wins).
    const ofR = () => status.filter((s) => s.timestamp === r.timestamp).length;
    await publish(client, topic(), JSON.stringify(r));
    await until(() => ofR() === 1, 10_000, 'status of the first copy');
    await publish(client, topic(), JSON.stringify(r));
    await until(() => ofR() === 2, 10_000, 'status of the redelivered copy');
    await publish(client, topic(), JSON.stringify(clash));
    await until(() => status.some((s) => s.reason === 'conflict'), 10_000, 'conflict status');
    expect(status.filter((s) => s.timestamp === r.timestamp).map((s) => s.outcome ?? s.reason)).toEqual(['accepted', 'duplicate', 'rejected']);
    expect(await stored(r.signature)).toBe(1);
    expect(await stored(clash.signature)).toBe(0);
  });

  it('quarantines every bad message with its reason and answers on the status topic', async (ctx) => {
    if (!mosq) return ctx.skip();
    const cases = rejectionCases(meter, other);
    const before = status.filter((s) => s.outcome === 'rejected').length;
    for (const c of cases) await publish(client, topic(), c.payload);
    await until(() => status.filter((s) => s.outcome === 'rejected').length >= before + cases.length, 10_000, 'rejection statuses');
    const rows = await db.pool.query<{ reason: string }>("SELECT reason FROM rejected_readings WHERE reason <> 'conflict' ORDER BY id");
    expect(rows.rows.map((r) => r.reason).sort()).toEqual(cases.map((c) => c.reason).sort());
  });

  it('applies the repo ACL: wrong password refused, foreign topics neither delivered nor readable', async (ctx) => {
    if (!mosq) return ctx.skip();
    await expect(connectMeter(mosq.url, { ...meter, password: 'wrong' })).rejects.toThrow(/Bad username or password|Not authorized/i);
    const c = await connectMeter(mosq.url, other);
    try {
      const forged = reading(meter);
      await publish(c, topic(), JSON.stringify(forged)); // Mosquitto acks but drops it (3.1.1)
      await publish(c, `meters/${other.id}/readings`, JSON.stringify(reading(other))); // ordering marker
      await until(async () => (await count(db.pool, 'SELECT 1 FROM meter_readings WHERE meter_id = $1', [other.id])) === 1, 10_000, 'own reading');
      expect(await stored(forged.signature)).toBe(0);
      // Mosquitto 2.0 grants the SUBSCRIBE but applies the read ACL at delivery: nothing arrives.
      const leaked: string[] = [];
      c.on('message', (tp) => leaked.push(tp));
      await subscribeGranted(c, [`meters/${meter.id}/status`, 'meters/+/readings', '#']);
      const r = reading(meter);
      const before = status.length;
      await publish(client, topic(), JSON.stringify(r));
      await until(() => status.length > before, 10_000, "meter's own status");
      // Marker: a reading of `other` answers on its own status topic, which its '#' may receive.
      // Mosquitto delivers the gateway's publishes in order, so anything leaked arrives before it.
      await publish(c, `meters/${other.id}/readings`, JSON.stringify(reading(other)));
      await until(() => leaked.includes(`meters/${other.id}/status`), 10_000, "other's own status");
      expect(leaked.filter((tp) => tp !== `meters/${other.id}/status`)).toEqual([]);
    } finally {
      c.end(true);
    }
  });

  it("ties client ids to usernames: a meter using another meter's or the gateway's id evicts neither", async (ctx) => {
    if (!mosq) return ctx.skip();
    let victimClosed = false;
    const victim = await connectMeter(mosq.url, other);
    victim.on('close', () => (victimClosed = true));
    try {
      // the repo's mosquitto.conf replaces the client id with the username
      for (const clientId of [other.id, `gw-${process.pid}-0`, '']) {
        const attacker = await connectMeter(mosq.url, meter, { clientId, clean: true });
        await attacker.endAsync();
      }
      const r = reading(other);
      await publish(victim, `meters/${other.id}/readings`, JSON.stringify(r)); // PUBACKed on the same connection
      expect(victimClosed).toBe(false);
      // the gateway's subscriber kept its session: the reading still reaches the database
      await until(async () => (await stored(r.signature)) === 1, 10_000, 'reading stored through the gateway');
      expect((await fetch(`${t!.gateway.urls.http}/health/ready`)).status).toBe(200);
    } finally {
      victim.end(true);
    }
  });

  it('takes OCMF records on meters/{id}/ocmf through Mosquitto: stored once, their rise mint-eligible; foreign ocmf topics denied', async (ctx) => {
    if (!mosq) return ctx.skip();
    const c = await connectMeter(mosq.url, { id: ocmfMeter.id, password: ocmfMeter.password } as TestMeter);
    try {
      const st = await watchStatus(c, ocmfMeter.id);
      const t0 = Date.now() - 3_600_000;
      const record = ocmfRecord(ocmfMeter, [{ at: new Date(t0), kwh: '100.25' }, { at: new Date(t0 + 900_000), kwh: '102.75' }]);
      await publish(c, `meters/${ocmfMeter.id}/ocmf`, record);
      // denied by the ACL: Mosquitto acks and drops it; the gateway never sees it
      await publish(c, `meters/${meter.id}/ocmf`, ocmfRecord(ocmfMeter, [{ at: new Date(t0 + 1_800_000), kwh: '103' }]));
      await publish(c, `meters/${ocmfMeter.id}/ocmf`, record); // a redelivery, and the ordering marker
      await until(() => st.length >= 2, 10_000, 'two OCMF status messages');
      expect(st.map((s) => s.outcome)).toEqual(['accepted', 'duplicate']);
      const rows = await db.pool.query<{ id: string; kwh: string; state: string }>(
        `SELECT id, trim_scale(kwh_amount)::text AS kwh, energy_state AS state FROM meter_readings WHERE meter_id = $1 ORDER BY "timestamp"`,
        [ocmfMeter.id],
      );
      expect(rows.rows.map((r) => [r.kwh, r.state])).toEqual([['0', 'baseline'], ['2.5', 'rise']]);
      const candidates = await selectMintCandidates(db.pool, 10_000);
      expect(candidates.filter((x) => rows.rows.some((r) => r.id === x.id))).toEqual([{ id: rows.rows[1]!.id, wallet_address: ocmfMeter.owner, kwh_amount: '2.500000000' }]);
      expect(await count(db.pool, "SELECT 1 FROM rejected_readings WHERE topic LIKE '%/ocmf'")).toBe(0);
    } finally {
      c.end(true);
    }
  });
});
