import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMeter, count, createTestDatabase, type Daemon, openRaw, publish, reading, registerMeter, startDaemon, streamOversizedConnect, type TestDatabase } from '../../harness/index.js';

let db: TestDatabase;
let dataDir: string;
let daemon: Daemon | null = null;

const MiB = 1024 * 1024;
/** Resident set size of a process, from /proc (Linux). */
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'gridmint-abuse-'));
});
afterAll(async () => {
  await daemon?.kill('SIGKILL');
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('embedded broker under abuse (a real daemon process)', () => {
  it('20 unauthenticated sockets streaming 10 MiB each raise its RSS by less than 64 MiB', { timeout: 120_000 }, async () => {
    const env = {
      DATABASE_URL: db.url, MQTT_HOST: '127.0.0.1', HTTP_PORT: '0', LEDGER_PORT: '0',
      DATA_DIR: dataDir, MINT_ENABLED: 'false', INGEST_VERIFY_WORKERS: '0',
    };
    daemon = await startDaemon(env, { timeoutMs: 60_000 });
    const pid = daemon.child.pid!;
    const url = daemon.urls.mqtt!;
    const meter = await registerMeter(db.pool);
    const honest = await connectMeter(url, meter);
    await publish(honest, `meters/${meter.id}/readings`, JSON.stringify(reading(meter))); // warm the ingest path
    const baseline = rssOf(pid);

    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 10);
    try {
      const attackers = await Promise.all(Array.from({ length: 20 }, () => openRaw(url)));
      await Promise.all(attackers.map((c) => streamOversizedConnect(c, 10 * MiB)));
      await Promise.all(attackers.map((c) => c.closed));
      // the honest meter is still served, on its original connection
      const r = reading(meter);
      await publish(honest, `meters/${meter.id}/readings`, JSON.stringify(r));
      expect(await count(db.pool, 'SELECT 1 FROM meter_readings WHERE signature = $1', [r.signature])).toBe(1);
    } finally {
      clearInterval(sampler);
      honest.end(true);
    }
    peak = Math.max(peak, rssOf(pid));
    console.log(`[broker-memory] RSS baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB, growth ${((peak - baseline) / MiB).toFixed(1)} MiB`);
    expect(peak - baseline).toBeLessThan(64 * MiB);
  });
});
