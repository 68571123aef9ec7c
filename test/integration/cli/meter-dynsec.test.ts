import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Keypair } from '@solana/web3.js';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, startMosquittoDynsec, type TestDatabase, type TestMosquitto } from '../../harness/index.js';

const run = promisify(execFile);
const admin = { username: 'gridmint-gateway', password: 'gateway-cli-password-0123' };
let db: TestDatabase;
let broker: TestMosquitto | null;
let dataDir: string;
const clients: MqttClient[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'gridmint-cli-dynsec-'));
  broker = await startMosquittoDynsec(admin);
}, 30_000);
afterAll(async () => {
  for (const c of clients) c.end(true);
  await broker?.stop();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function gridmint(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const env = {
    ...process.env, DATABASE_URL: db.url, DATA_DIR: dataDir, NODE_ENV: 'development', LOG_LEVEL: 'warn',
    MQTT_URL: broker!.url, MQTT_USERNAME: admin.username, MQTT_PASSWORD: admin.password, MQTT_DYNSEC: 'true',
  };
  try {
    return { ...(await run('npx', ['tsx', 'src/cli/index.ts', ...args], { env, timeout: 60_000 })), code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

async function connect(username: string, password: string): Promise<MqttClient> {
  const c = mqtt.connect(broker!.url, { username, password, clientId: `${username}-${clients.length}`, reconnectPeriod: 0, connectTimeout: 5_000 });
  clients.push(c);
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed')));
  });
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
    const end = Date.now() + 10_000;
    while (!closed && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(true);
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
