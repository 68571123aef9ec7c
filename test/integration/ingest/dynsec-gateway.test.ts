import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../../src/api/auth.js';
import { generateMeterKey } from '../../../src/domain/sign.js';
import { connectMeter, createTestDatabase, publish, reading, startMosquittoDynsec, startTestGateway, type StatusMessage, type TestDatabase, type TestGateway, type TestMeter, type TestMosquitto, until, watchStatus, ocmfRecord } from '../../harness/index.js';
import { generateKeyPairSync } from 'node:crypto';

const SECRET = 'dynsec-gateway-test-secret-0123456789abcdef';
const admin = { username: 'gridmint-gateway', password: 'gateway-dynsec-password-0123' };
let db: TestDatabase;
let broker: TestMosquitto | null;
let t: TestGateway | null = null;
let client: MqttClient | null = null;
let ocmfClient: MqttClient | null = null;

beforeAll(async () => {
  db = await createTestDatabase();
  broker = await startMosquittoDynsec(admin);
  if (!broker) return;
  // A fresh dynsec file: the gateway account is the plugin's admin and nothing else; the daemon
  // grants itself the readings role at start, before it subscribes.
  t = await startTestGateway(
    { MQTT_URL: broker.url, MQTT_USERNAME: admin.username, MQTT_PASSWORD: admin.password, MQTT_DYNSEC: true, MQTT_SUBSCRIBER_CONNECTIONS: 2, MQTT_CLIENT_ID: `gw-dynsec-${process.pid}`, JWT_SECRET: SECRET },
    { db },
  );
  await until(async () => (await fetch(`${t!.gateway.urls.http}/health/ready`)).status === 200, 20_000, 'gateway ready (subscribed)');
}, 60_000);
afterAll(async () => {
  client?.end(true);
  ocmfClient?.end(true);
  await t?.stop();
  await broker?.stop();
  await db?.drop();
});

describe('gateway with MQTT_DYNSEC against Mosquitto + dynamic security', () => {
  it('a meter registered over the admin API can publish at once, and its reading is stored', async () => {
    if (!broker || !t) return expect.fail('mosquitto with the dynamic security plugin is required');
    const key = generateMeterKey();
    const owner = generateMeterKey().publicKey;
    const id = `dyn-${process.pid}`;
    const res = await t.gateway.app.inject({
      method: 'POST', url: '/api/admin/meters',
      headers: { authorization: `Bearer ${signToken(SECRET, { sub: 'admin-1', role: 'admin' }, 600)}` },
      // a 1-second grid, like the fixtures' meters, so reading() timestamps are on it
      payload: { id, wallet: owner, pubkey: key.publicKey, interval_seconds: 1, max_kw: '360000' },
    });
    expect(res.statusCode).toBe(201);
    const meter: TestMeter = { id, key, owner, password: res.json().mqtt_password };
    client = await connectMeter(broker.url, meter);
    const status: StatusMessage[] = await watchStatus(client, id);
    const r = reading(meter, { kwh_amount: '3.000000001' });
    await publish(client, `meters/${id}/readings`, JSON.stringify(r));
    await until(() => status.some((s) => s.timestamp === r.timestamp), 15_000, 'status after commit');
    expect(status.find((s) => s.timestamp === r.timestamp)).toMatchObject({ outcome: 'accepted' });
    const rows = await db.pool.query('SELECT kwh_amount FROM meter_readings WHERE signature = $1', [r.signature]);
    expect(rows.rows).toEqual([{ kwh_amount: '3.000000001' }]);
  });

  it('an OCMF meter registered over the admin API publishes records on meters/{id}/ocmf; its rise is stored to mint', async () => {
    if (!broker || !t) return expect.fail('mosquitto with the dynamic security plugin is required');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const owner = generateMeterKey().publicKey;
    const id = `dyn-ocmf-${process.pid}`;
    const res = await t.gateway.app.inject({
      method: 'POST', url: '/api/admin/meters',
      headers: { authorization: `Bearer ${signToken(SECRET, { sub: 'admin-1', role: 'admin' }, 600)}` },
      payload: { id, wallet: owner, pubkey: publicKey.export({ format: 'der', type: 'spki' }).toString('hex'), reads: 'register', format: 'ocmf', max_kw: '22' },
    });
    expect(res.statusCode).toBe(201);
    const m = { id, owner, password: res.json().mqtt_password as string, privateKey, page: 0 };
    ocmfClient = await connectMeter(broker.url, { id, password: m.password } as TestMeter);
    const status: StatusMessage[] = await watchStatus(ocmfClient, id);
    const t0 = Date.now() - 3_600_000;
    await publish(ocmfClient, `meters/${id}/ocmf`, ocmfRecord(m, [{ at: new Date(t0), kwh: '7' }, { at: new Date(t0 + 900_000), kwh: '8.5' }]));
    await until(() => status.length >= 1, 15_000, 'status after commit');
    expect(status[0]).toMatchObject({ outcome: 'accepted' });
    const rows = await db.pool.query(
      `SELECT trim_scale(kwh_amount)::text AS kwh, energy_state AS state, wallet_address AS wallet FROM meter_readings WHERE meter_id = $1 ORDER BY "timestamp"`,
      [id],
    );
    expect(rows.rows).toEqual([{ kwh: '0', state: 'baseline', wallet: owner }, { kwh: '1.5', state: 'rise', wallet: owner }]);
  });
});
