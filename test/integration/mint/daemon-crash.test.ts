import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { insertMeter } from '../../../src/store/meters.js';
import { createTestDatabase, type Daemon, json, runCli, spawnDaemon, startDaemon, type TestDatabase, wallet } from '../../harness/index.js';

async function counts(db: TestDatabase) {
  const r = await db.pool.query<{ minted: string; claimed: string; unresolved: string; outbox: string }>(`
    SELECT (SELECT count(*) FROM meter_readings WHERE minted) AS minted,
           (SELECT count(*) FROM meter_readings WHERE NOT minted AND mint_outbox_id IS NOT NULL) AS claimed,
           (SELECT count(*) FROM mint_outbox WHERE status IN ('pending', 'sent')) AS unresolved,
           (SELECT count(*) FROM mint_outbox) AS outbox`);
  const x = r.rows[0]!;
  return { minted: Number(x.minted), claimed: Number(x.claimed), unresolved: Number(x.unresolved), outbox: Number(x.outbox) };
}

describe('SIGKILL of the real daemon mid-mint, then restart', () => {
  for (const step of ['recorded', 'sent', 'finalized'] as const) {
    it(`killed after ${step}: every reading minted exactly once and the audit passes`, { timeout: 120_000 }, async () => {
      const db = await createTestDatabase();
      const dataDir = mkdtempSync(join(tmpdir(), 'gridmint-kill-'));
      const env = {
        NODE_ENV: 'test', DATABASE_URL: db.url, DATA_DIR: dataDir, HTTP_PORT: '0', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1',
        LEDGER_PORT: '0', MINT_SCHEDULE: '*/1 * * * * *', MINT_ENABLED: 'true',
      };
      let daemon: Daemon | null = null;
      try {
        await insertMeter(db.pool, { id: 'kill-meter', ownerWallet: wallet(), publicKey: wallet(), passwordHash: 'x' });
        const wallets = [wallet(), wallet(), wallet(), wallet()];
        await db.pool.query(
          `INSERT INTO meter_readings (meter_id, wallet_address, kwh_amount, "timestamp", signature, received_at)
           SELECT 'kill-meter', w, '1.000000001', now() - make_interval(secs => i::int), 'sig', now()
           FROM unnest($1::text[]) WITH ORDINALITY AS v(w, i)`,
          [[...wallets, ...wallets]],
        );

        // Not awaited to readiness: the crash hook may kill it before or after its HTTP server is up.
        daemon = await spawnDaemon({ ...env, GRIDMINT_TEST_CRASH_AT: step });
        expect(await daemon.exited(), daemon.output().slice(-3000)).toBe('SIGKILL');
        expect(await counts(db)).toEqual({ minted: 0, claimed: 8, unresolved: 1, outbox: 1 });

        daemon = await startDaemon(env);
        const deadline = Date.now() + 30_000;
        while ((await counts(db)).minted < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        expect(await counts(db)).toEqual({ minted: 8, claimed: 0, unresolved: 0, outbox: 1 }); // the recorded tx, never a rebuild
        await daemon.kill('SIGTERM');
        daemon = null;

        // `gridmint token audit --json` as an operator would run it, after the daemon has stopped
        const audit = await runCli(['token', 'audit', '--json'], { DATABASE_URL: db.url, DATA_DIR: dataDir, LEDGER_PORT: '0', NODE_ENV: 'test' });
        expect(json(audit)).toMatchObject({ ok: true, drift_base_units: '0', wallets_checked: 4 });
        expect(audit.code).toBe(0);
      } finally {
        await daemon?.kill('SIGKILL');
        await db.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
