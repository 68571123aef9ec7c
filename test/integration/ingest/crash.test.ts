import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { createTestDatabase, type Daemon, freeServerPort, registerMeter, startDaemon, streamReadings, type TestDatabase, type TestMeter, until } from '../../harness/index.js';

let db: TestDatabase;
let dataDir: string;
let daemon: Daemon | null = null;
const clients: MqttClient[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'gridmint-crash-'));
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  await daemon?.kill('SIGKILL');
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('daemon killed with SIGKILL mid-stream', () => {
  it('has every acknowledged reading after restart, none twice, and takes the redeliveries', async () => {
    const mqttPort = await freeServerPort();
    const env = {
      DATABASE_URL: db.url, MQTT_PORT: String(mqttPort), MQTT_HOST: '127.0.0.1', HTTP_PORT: '0', LEDGER_PORT: '0',
      DATA_DIR: dataDir, MINT_ENABLED: 'false', INGEST_VERIFY_WORKERS: '1',
    };
    daemon = await startDaemon(env);
    const meters: TestMeter[] = [];
    for (let i = 0; i < 8; i++) meters.push(await registerMeter(db.pool));
    // Persistent session + reconnect: mqtt.js resends its unacknowledged QoS 1 messages.
    const stream = await streamReadings(daemon.urls.mqtt!, meters, { reconnectPeriod: 200, intervalMs: 2 });
    clients.push(...stream.clients);
    const { acked, sent } = stream;
    await until(() => acked.size > 150, 30_000, 'acknowledged readings before the kill');
    await daemon.kill('SIGKILL');
    const ackedAtKill = new Set(acked);
    stream.stop();
    expect(ackedAtKill.size).toBeGreaterThan(100);

    // Every PUBACK the meters got before the kill is in the database, each exactly once.
    const rows = await db.pool.query<{ signature: string }>('SELECT signature FROM meter_readings');
    const storedSigs = rows.rows.map((r) => r.signature);
    expect(new Set(storedSigs).size).toBe(storedSigs.length);
    const missing = [...ackedAtKill].filter((s) => !storedSigs.includes(s));
    expect(missing).toEqual([]);

    // Restart on the same port: the meters reconnect and redeliver; everything sent ends up stored once.
    daemon = await startDaemon(env);
    await stream.settled(20_000, 'redeliveries not acknowledged');
    const after = await db.pool.query<{ n: string; d: string }>('SELECT count(*)::text AS n, count(DISTINCT signature)::text AS d FROM meter_readings');
    expect(after.rows[0]).toEqual({ n: String(sent.length), d: String(sent.length) });
  }, 120_000); // two daemon starts on a shared 2-core machine
});
