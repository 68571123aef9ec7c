import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChainClient, type ChainClient } from '../../src/chain/client.js';
import { loadOrCreateKeypair } from '../../src/chain/keys.js';
import { createLocalLedger, type LocalLedger } from '../../src/chain/ledger/index.js';
import { createMetrics, type Metrics } from '../../src/metrics/registry.js';
import { createMinter, type MinterOptions } from '../../src/mint/minter.js';
import { insertMeter } from '../../src/store/meters.js';
import { wallet } from './api.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { testLogger as logger } from './log.js';

let meterSeq = 0;

/**
 * The minting side without a gateway: a fresh test database with one meter, a local ledger on a
 * loopback port (state on disk, so 'finalized' means persisted, as in the daemon), the production
 * chain client talking to it over HTTP, and fresh `minter()` objects as after a restart.
 */
export async function startTestMinter() {
  const db: TestDatabase = await createTestDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'gridmint-mint-'));
  const stateFile = join(dir, 'ledger', 'ledger.bin');
  let ledger: LocalLedger = createLocalLedger({ host: '127.0.0.1', port: 0, stateFile, logger, saveDebounceMs: 20 });
  await ledger.start();
  const payer = await loadOrCreateKeypair(join(dir, 'keys', 'mint-authority.json'));
  const meterId = `m${process.pid}-${++meterSeq}`;
  await insertMeter(db.pool, { id: meterId, ownerWallet: wallet(), publicKey: wallet(), passwordHash: 'x' });
  let ts = Date.UTC(2025, 0, 1);

  const client = (metrics: Metrics, url = ledger.url): ChainClient =>
    createChainClient({ rpcUrl: url, payer, logger, isLocal: true, timeoutMs: 2_000, onRpcError: (method) => metrics.chainRpcErrors.inc({ method }) });

  const h = {
    db,
    dir,
    payer,
    get ledger() {
      return ledger;
    },
    client,
    /** A fresh minter object (as after a process restart): own metrics, own chain client. */
    minter(over: Partial<MinterOptions> = {}) {
      const metrics = over.metrics ?? createMetrics();
      return createMinter({
        pool: db.pool, chain: client(metrics), metrics, logger, payer, configuredMint: null, cluster: 'localnet',
        maxReadingsPerRun: 50_000, settleDeadlineMs: 30_000, ...over,
      });
    },
    /** Inserts readings directly (ingestion is another component); returns their ids. */
    async readings(rows: { wallet: string; kwh: string }[]): Promise<string[]> {
      const times = rows.map(() => new Date((ts += 1000)).toISOString());
      const r = await db.pool.query<{ id: string }>(
        `INSERT INTO meter_readings (meter_id, wallet_address, kwh_amount, "timestamp", signature, received_at)
         SELECT $1, w, k::numeric, t::timestamptz, 'sig', now() FROM unnest($2::text[], $3::text[], $4::text[]) AS v(w, k, t)
         RETURNING id`,
        [meterId, rows.map((x) => x.wallet), rows.map((x) => x.kwh), times],
      );
      return r.rows.map((x) => x.id);
    },
    /** Restarts the ledger on the same state file (and port), as after a crash or reboot. */
    async restartLedger(): Promise<void> {
      const port = Number(new URL(ledger.url).port);
      await ledger.stop();
      ledger = createLocalLedger({ host: '127.0.0.1', port, stateFile, logger, saveDebounceMs: 20 });
      await ledger.start();
    },
    async counts() {
      const r = await db.pool.query<{ minted: string; unminted: string; claimed: string; unresolved: string }>(`
        SELECT (SELECT count(*) FROM meter_readings WHERE minted) AS minted,
               (SELECT count(*) FROM meter_readings WHERE NOT minted) AS unminted,
               (SELECT count(*) FROM meter_readings WHERE NOT minted AND mint_outbox_id IS NOT NULL) AS claimed,
               (SELECT count(*) FROM mint_outbox WHERE status IN ('pending', 'sent')) AS unresolved`);
      const x = r.rows[0]!;
      return { minted: Number(x.minted), unminted: Number(x.unminted), claimed: Number(x.claimed), unresolved: Number(x.unresolved) };
    },
    async close() {
      await ledger.stop().catch(() => {});
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

export type TestMinter = Awaited<ReturnType<typeof startTestMinter>>;
