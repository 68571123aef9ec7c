import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../../src/api/auth.js';
import { createChainClient } from '../../../src/chain/client.js';
import { loadOrCreateKeypair } from '../../../src/chain/keys.js';
import { createLocalLedger } from '../../../src/chain/ledger/index.js';
import { buildMintTransactions } from '../../../src/chain/tokens.js';
import { insertMeter } from '../../../src/store/meters.js';
import { createTestDatabase, json, runCli, startTestGateway, type TestDatabase, testLogger as logger, wallet } from '../../harness/index.js';

/**
 * Issue 12 A2: `gridmint token audit` FAILS, exit 1, naming the check, for each kind of drift it
 * claims to detect, each injected alone into a database whose records were correct.
 */
const SECRET = 'audit-drift-test-secret-0123456789abcdef';
let db: TestDatabase;
let dataDir: string;
let mintAddress: string;
const owners = [wallet(), wallet()];

interface AuditRun {
  code: number | null;
  report: { ok: boolean; failed_checks: string[]; drift_base_units: string };
  error: { code: string; message: string } | null;
}

/** `gridmint token audit --json` as an operator runs it (the daemon is stopped). */
async function cliAudit(): Promise<AuditRun> {
  const r = await runCli(['token', 'audit', '--json'], { DATABASE_URL: db.url, DATA_DIR: dataDir, LEDGER_PORT: '0', NODE_ENV: 'test', SOLANA_CLUSTER: 'localnet', LOG_LEVEL: 'silent' });
  const errLine = r.stderr.split('\n').find((l) => l.startsWith('{"error"'));
  return { code: r.code, report: json(r), error: errLine ? JSON.parse(errLine).error : null };
}

/** Applies `inject` (SQL), runs the audit, undoes it with `undo`, and returns the run. */
async function withDrift(inject: string, undo: string): Promise<AuditRun> {
  await db.pool.query(inject);
  try {
    return await cliAudit();
  } finally {
    await db.pool.query(undo);
  }
}

function expectFailed(run: AuditRun, check: string) {
  expect(run.code, JSON.stringify(run)).toBe(1);
  expect(run.report.ok).toBe(false);
  expect(run.report.failed_checks).toEqual([check]);
  expect(run.error).toMatchObject({ code: 'supply_drift', message: expect.stringContaining(check) });
}

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'gridmint-audit-'));
  const gw = await startTestGateway({ JWT_SECRET: SECRET, MINT_ENABLED: false, SOLANA_CLUSTER: 'localnet', DATA_DIR: dataDir }, { db });
  try {
    await insertMeter(db.pool, { id: 'audit-meter', ownerWallet: owners[0]!, publicKey: wallet(), passwordHash: 'x' });
    await db.pool.query(
      `INSERT INTO meter_readings (meter_id, wallet_address, kwh_amount, "timestamp", signature, received_at)
       SELECT 'audit-meter', w, k::numeric, now() - make_interval(mins => i::int), 'sig', now()
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS v(w, k, i)`,
      [[owners[0], owners[0], owners[1]], ['1.5', '2.000000001', '3']],
    );
    const admin = { authorization: `Bearer ${signToken(SECRET, { sub: 'admin', role: 'admin' }, 600)}` };
    const run = await gw.gateway.app.inject({ method: 'POST', url: '/api/admin/tokens/mint-run', headers: admin });
    expect(run.json()).toMatchObject({ result: 'success', confirmed: 1 });
    mintAddress = (await gw.gateway.app.inject({ method: 'GET', url: '/api/tokens/info' })).json().mint_address;
  } finally {
    await gw.stop(); // the ledger state stays in dataDir (ours, not the helper's)
  }
}, 120_000);
afterAll(async () => {
  await db?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('gridmint token audit fails, naming the check, for each drift', { timeout: 120_000 }, () => {
  it('passes (exit 0) on correct records', async () => {
    const run = await cliAudit();
    expect(run.code).toBe(0);
    expect(run.report).toMatchObject({ ok: true, failed_checks: [], drift_base_units: '0' });
  });

  it('a minted reading without a confirmed transaction', async () => {
    // The 3 kWh reading is pointed at a transaction that failed (totals and wallets unchanged).
    const run = await withDrift(
      `INSERT INTO mint_outbox (kind, mint_address, signature, blockhash, last_valid_block_height, tx_bytes, instruction_count, total_base_units, status, resolved_at)
       VALUES ('readings', '${mintAddress}', 'failed-tx', 'bh', 1, '\\x01', 2, 3000000000, 'failed', now());
       UPDATE meter_readings SET mint_outbox_id = (SELECT id FROM mint_outbox WHERE signature = 'failed-tx'), mint_tx_signature = 'failed-tx' WHERE kwh_amount = 3`,
      `UPDATE meter_readings SET mint_outbox_id = o.id, mint_tx_signature = o.signature FROM mint_outbox o WHERE o.status = 'confirmed' AND kwh_amount = 3;
       DELETE FROM mint_outbox WHERE signature = 'failed-tx'`,
    );
    expectFailed(run, 'minted_readings_confirmed');
  });

  it('a minted reading whose recorded signature is not its transaction’s', async () => {
    const run = await withDrift(
      "UPDATE meter_readings SET mint_tx_signature = mint_tx_signature || 'x' WHERE kwh_amount = 3",
      "UPDATE meter_readings SET mint_tx_signature = rtrim(mint_tx_signature, 'x') WHERE kwh_amount = 3",
    );
    expectFailed(run, 'minted_reading_signatures');
  });

  it('a wallet balance that differs from its records (same totals)', async () => {
    // 1.5 kWh recorded for the other owner: totals unchanged, two wallets off by 1.5 tokens.
    const run = await withDrift(
      `UPDATE meter_readings SET wallet_address = '${owners[1]}' WHERE kwh_amount = 1.5`,
      `UPDATE meter_readings SET wallet_address = '${owners[0]}' WHERE kwh_amount = 1.5`,
    );
    expectFailed(run, 'wallet_balances');
  });

  it('on-chain supply above the records (a mint outside gridmint, to an unknown wallet)', async () => {
    const ledger = createLocalLedger({ host: '127.0.0.1', port: 0, stateFile: join(dataDir, 'ledger', 'ledger.bin'), logger, saveDebounceMs: 20 });
    await ledger.start();
    try {
      const payer = await loadOrCreateKeypair(join(dataDir, 'keys', 'mint-authority.json'));
      const chain = createChainClient({ rpcUrl: ledger.url, payer, logger, isLocal: true });
      const { blockhash, lastValidBlockHeight } = await chain.getLatestBlockhash();
      const [tx] = buildMintTransactions({ mint: mintAddress, payer, entries: [{ wallet: wallet(), baseUnits: 5n }], existingAtas: new Set(), blockhash });
      await chain.sendRawTransaction(tx!.bytes);
      expect(await chain.waitForSignature(tx!.signature, lastValidBlockHeight, { pollMs: 20 })).toMatchObject({ state: 'finalized' });
    } finally {
      await ledger.stop();
    }
    const run = await cliAudit();
    expectFailed(run, 'supply_matches_records');
    expect(run.report.drift_base_units).toBe('5');
  });
});
