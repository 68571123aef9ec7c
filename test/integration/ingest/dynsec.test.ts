import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { connectDynsec } from '../../../src/ingest/dynsec.js';
import { meterRole, provisionerFor } from '../../../src/ingest/meter-provisioner.js';
import { startMosquittoDynsec, type TestMosquitto, connectClient, until } from '../../harness/index.js';

const logger = createLogger('silent');
const admin = { username: 'gridmint-gateway', password: 'gateway-test-password-0123' };
let broker: TestMosquitto | null;
let provisioner: Awaited<ReturnType<typeof provisionerFor>>;
const clients: MqttClient[] = [];

/** Connects once (no reconnect); resolves the client or rejects with the broker's refusal. */
async function connect(username: string, password: string): Promise<MqttClient> {
  const c = await connectClient(broker!.url, { username, password, clientId: `${username}-${Math.random().toString(16).slice(2, 8)}` });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  broker = await startMosquittoDynsec(admin);
  if (!broker) return;
  provisioner = await provisionerFor({ MQTT_DYNSEC: true, MQTT_URL: broker.url, MQTT_USERNAME: admin.username, MQTT_PASSWORD: admin.password }, logger);
  await provisioner!.ensureGatewayRole(admin.username, 'gridmint');
}, 30_000);
afterAll(async () => {
  for (const c of clients) c.end(true);
  await provisioner?.close();
  await broker?.stop();
});

describe('Mosquitto dynamic security provisioning', () => {
  it('a meter added is usable at once and limited to its own topics', async () => {
    if (!broker) return expect.fail('mosquitto with the dynsec plugin is required for this test');
    const gateway = await connect(admin.username, admin.password);
    const got: string[] = [];
    gateway.on('message', (topic) => got.push(topic));
    await gateway.subscribeAsync(['$share/gridmint/meters/+/readings', '$share/gridmint/meters/+/ocmf'], { qos: 1 });

    await provisioner!.upsertMeter('m-1', 'meter-one-password');
    await provisioner!.upsertMeter('m-2', 'meter-two-password');
    await expect(connect('m-1', 'wrong-password')).rejects.toThrow();
    const m1 = await connect('m-1', 'meter-one-password');
    await m1.publishAsync('meters/m-2/readings', 'not mine', { qos: 1 }); // denied: never delivered
    await m1.publishAsync('meters/m-2/ocmf', 'not mine either', { qos: 1 });
    await m1.publishAsync('meters/m-1/ocmf', 'OCMF|{}|{}', { qos: 1 });
    await m1.publishAsync('meters/m-1/readings', 'mine', { qos: 1 });
    await until(() => got.includes('meters/m-1/readings') && got.includes('meters/m-1/ocmf'), 10_000, 'the own reading to reach the gateway');
    expect(got).not.toContain('meters/m-2/readings');
    expect(got).not.toContain('meters/m-2/ocmf');
    expect((await m1.subscribeAsync('meters/m-1/status', { qos: 1 }))[0]!.qos).toBe(1);
    await expect(m1.subscribeAsync('meters/m-2/status', { qos: 1 })).rejects.toThrow(/Subscribe error/); // refused (0x80)
  });

  it('a suspended meter is disconnected at once and refused until activated', async () => {
    const m1 = await connect('m-1', 'meter-one-password');
    let closed = false;
    m1.on('close', () => (closed = true));
    await provisioner!.setStatus('m-1', 'suspended');
    await until(() => closed, 10_000, 'the suspended meter to be disconnected');
    await expect(connect('m-1', 'meter-one-password')).rejects.toThrow();
    await provisioner!.setStatus('m-1', 'active');
    await expect(connect('m-1', 'meter-one-password')).resolves.toBeDefined();
  });

  it('a password change takes effect at once; adding again is idempotent', async () => {
    await provisioner!.upsertMeter('m-2', 'meter-two-new-password');
    await expect(connect('m-2', 'meter-two-password')).rejects.toThrow();
    const m2 = await connect('m-2', 'meter-two-new-password');
    const granted = await m2.subscribeAsync('meters/m-2/status', { qos: 1 });
    expect(granted[0]!.qos).toBe(1);
  });

  it('a meter role made before OCMF (readings only) gains its ocmf grant at the next upsert', async () => {
    const raw = await connectDynsec({ url: broker!.url, username: admin.username, password: admin.password, logger });
    try {
      const old = await raw.run([
        { command: 'createRole', rolename: meterRole('m-old') },
        { command: 'addRoleACL', rolename: meterRole('m-old'), acltype: 'publishClientSend', topic: 'meters/m-old/readings', allow: true },
        { command: 'createClient', username: 'm-old', password: 'meter-old-password', roles: [{ rolename: meterRole('m-old') }] },
      ]);
      expect(old.map((r) => r.error ?? null)).toEqual([null, null, null]);
    } finally {
      await raw.close();
    }
    const gateway = await connect(admin.username, admin.password);
    const got: string[] = [];
    gateway.on('message', (topic) => got.push(topic));
    await gateway.subscribeAsync(['meters/m-old/ocmf', 'meters/m-old/readings'], { qos: 1 });
    const before = await connect('m-old', 'meter-old-password');
    await before.publishAsync('meters/m-old/ocmf', 'denied before the upsert', { qos: 1 });
    await before.publishAsync('meters/m-old/readings', 'marker', { qos: 1 });
    await until(() => got.includes('meters/m-old/readings'), 10_000, 'the marker');
    expect(got).not.toContain('meters/m-old/ocmf');
    await provisioner!.upsertMeter('m-old', 'meter-old-password-2'); // e.g. `gridmint meter passwd`
    const after = await connect('m-old', 'meter-old-password-2');
    await after.publishAsync('meters/m-old/ocmf', 'OCMF|{}|{}', { qos: 1 });
    await until(() => got.includes('meters/m-old/ocmf'), 10_000, 'the ocmf record');
  });
});
