import { Keypair } from '@solana/web3.js';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliWith, connectClient, createCliWorkspace, startMosquittoDynsec, type CliWorkspace, type TestMosquitto, until } from '../../harness/index.js';

const admin = { username: 'gridmint-gateway', password: 'gateway-cli-password-0123' };
let ws: CliWorkspace;
let broker: TestMosquitto | null;
const clients: MqttClient[] = [];

beforeAll(async () => {
  ws = await createCliWorkspace('cli-dynsec');
  broker = await startMosquittoDynsec(admin);
}, 30_000);
afterAll(async () => {
  for (const c of clients) c.end(true);
  await broker?.stop();
  await ws?.drop();
});

const gridmint = cliWith(() => ({
  ...ws.env, NODE_ENV: 'development', LOG_LEVEL: 'warn',
  MQTT_URL: broker!.url, MQTT_USERNAME: admin.username, MQTT_PASSWORD: admin.password, MQTT_DYNSEC: 'true',
}));

async function connect(username: string, password: string): Promise<MqttClient> {
  const c = await connectClient(broker!.url, { username, password, clientId: `${username}-${clients.length}` });
  clients.push(c);
  return c;
}

describe('gridmint meter … with MQTT_DYNSEC: the broker follows the registry at once', () => {
  it('add → usable; suspend → kicked and refused; activate → back; passwd → old password dead', { timeout: 180_000 }, async () => {
    if (!broker) return expect.fail('mosquitto with the dynamic security plugin is required');
    const pk = () => Keypair.generate().publicKey.toBase58();
    const add = await gridmint('--json', 'meter', 'add', '--id', 'cli-m1', '--wallet', pk(), '--pubkey', pk());
    expect(add.code, add.stderr).toBe(0);
    const { mqtt_password: password } = JSON.parse(add.stdout) as { mqtt_password: string };
    expect(add.stderr).not.toContain(admin.password);

    const m = await connect('cli-m1', password);
    let closed = false;
    m.on('close', () => (closed = true));
    expect((await gridmint('meter', 'suspend', 'cli-m1')).code).toBe(0);
    await until(() => closed, 10_000, 'the suspended meter to be disconnected');
    await expect(connect('cli-m1', password)).rejects.toThrow();

    expect((await gridmint('meter', 'activate', 'cli-m1')).code).toBe(0);
    await expect(connect('cli-m1', password)).resolves.toBeDefined();

    const pw = await gridmint('--json', 'meter', 'passwd', 'cli-m1');
    expect(pw.code, pw.stderr).toBe(0);
    const fresh = (JSON.parse(pw.stdout) as { mqtt_password: string }).mqtt_password;
    await expect(connect('cli-m1', password)).rejects.toThrow();
    await expect(connect('cli-m1', fresh)).resolves.toBeDefined();
  });
});
