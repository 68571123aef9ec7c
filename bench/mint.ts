/**
 * npm run bench:mint — 10,000 unminted readings across 2,000 wallets minted end to end on the
 * embedded local ledger (over its JSON-RPC endpoint, state on disk) against a fresh database on
 * the local Postgres (BENCH_DATABASE_URL / TEST_DATABASE_URL, default postgres@127.0.0.1:5432).
 * Pass 1: every wallet is new (ATA create + mintTo). Pass 2: the same wallets again (mintTo only).
 * Both passes run once per transaction format — 'legacy' (the "before": MINT_TX_FORMAT=legacy) and
 * 'v0' (lookup tables) — each on its own 2,000 wallets; BENCH_MINT_FORMATS=v0 runs one only.
 * Fees are read back from the ledger (getTransaction meta.fee) for every mint transaction.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keypair } from '@solana/web3.js';
import { createChainClient } from '../src/chain/client.js';
import { loadOrCreateKeypair } from '../src/chain/keys.js';
import { createLocalLedger } from '../src/chain/ledger/index.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics/registry.js';
import { auditSupply } from '../src/mint/audit.js';
import { createMinter, type RunReport } from '../src/mint/minter.js';
import { insertMeter } from '../src/store/meters.js';
import { migrate } from '../src/store/migrate.js';
import { createDatabase } from '../test/harness/db.js';

const WALLETS = Number(process.env.BENCH_MINT_WALLETS ?? 2_000); // smaller for a smoke run
const READINGS = 5 * WALLETS;
const FORMATS = (process.env.BENCH_MINT_FORMATS ?? 'legacy,v0').split(',') as ('legacy' | 'v0')[];
const admin = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] ?? 0, median: s[Math.floor(s.length / 2)] ?? 0, max: s[s.length - 1] ?? 0 };
};

async function main() {
  const db = await createDatabase(admin, { migrate: false, poolSize: 8, prefix: 'gridmint_bench' });
  const pool = db.pool;
  const dir = mkdtempSync(join(tmpdir(), 'gridmint-bench-mint-'));
  const ledger = createLocalLedger({ host: '127.0.0.1', port: 0, stateFile: join(dir, 'ledger', 'ledger.bin'), logger });
  try {
    await migrate(db.url, logger);
    await ledger.start();
    const payer = await loadOrCreateKeypair(join(dir, 'keys', 'mint-authority.json'));
    const metrics = createMetrics();
    const chain = createChainClient({ rpcUrl: ledger.url, payer, logger, isLocal: true, onRpcError: (method) => metrics.chainRpcErrors.inc({ method }) });
    const minterFor = (txFormat: 'legacy' | 'v0') =>
      createMinter({ pool, chain, metrics, logger, payer, configuredMint: null, cluster: 'localnet', maxReadingsPerRun: 50_000, txFormat });
    const mint = (await minterFor('legacy').ensureMint()).mint_address;

    await insertMeter(pool, { id: 'bench-meter', ownerWallet: payer.publicKey.toBase58(), publicKey: payer.publicKey.toBase58(), passwordHash: 'x' });
    let wallets: string[] = [];
    let t = Date.UTC(2025, 0, 1);
    /** Lamports paid in fees by the mint transactions of a run (from the ledger's records). */
    const feesOf = async (since: string) => {
      const r = await pool.query<{ signature: string }>(`SELECT signature FROM mint_outbox WHERE status = 'confirmed' AND id > $1`, [since]);
      let fees = 0;
      for (const row of r.rows) fees += (await chain.connection.getTransaction(row.signature, { maxSupportedTransactionVersion: 0 }))?.meta?.fee ?? 0;
      return fees;
    };
    const lastOutboxId = async () => (await pool.query<{ id: string }>('SELECT coalesce(max(id), 0)::text AS id FROM mint_outbox')).rows[0]!.id;
    const tableOps = async () => Number((await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM mint_lookup_table_ops WHERE status = $1', ['confirmed'])).rows[0]!.n);
    const insert = async () => {
      // Readings interleave wallets, as meters report; amounts have all 9 decimals in play.
      const w: string[] = [], k: string[] = [], ts: string[] = [];
      for (let i = 0; i < READINGS; i++) {
        w.push(wallets[i % WALLETS]!);
        k.push(`${(i % 7) + 1}.${String((i * 7919) % 1_000_000_000).padStart(9, '0')}`);
        ts.push(new Date((t += 1000)).toISOString());
      }
      await pool.query(
        `INSERT INTO meter_readings (meter_id, wallet_address, kwh_amount, "timestamp", signature, received_at)
         SELECT 'bench-meter', w, k::numeric, t::timestamptz, 'sig', now() FROM unnest($1::text[], $2::text[], $3::text[]) AS v(w, k, t)`,
        [w, k, ts],
      );
    };

    const passes: Record<string, unknown>[] = [];
    for (const format of FORMATS) {
      wallets = Array.from({ length: WALLETS }, () => Keypair.generate().publicKey.toBase58());
      const minter = minterFor(format);
      for (const label of ['new wallets (ATA create + mintTo)', 'existing wallets (mintTo only)', 'existing wallets again (steady state)']) {
        await insert();
        const since = await lastOutboxId();
        const opsBefore = await tableOps();
        const lamportsBefore = await chain.getBalance();
        const t0 = performance.now();
        const r: RunReport = await minter.run('bench');
        const secs = (performance.now() - t0) / 1000;
        const spent = Number(lamportsBefore - (await chain.getBalance()));
        const fees = await feesOf(since);
        const kwh = Number(r.minted_kwh);
        const ipt = stats(r.instructionsPerTx);
        const wpt = stats(r.walletsPerTx);
        const pass = {
          format, pass: label, result: r.result, readings: r.readings, wallets: r.wallets, transactions: r.transactions,
          confirmed: r.confirmed, wall_seconds: Number(secs.toFixed(2)), wallets_per_second: Math.round(r.wallets / secs),
          readings_per_second: Math.round(r.readings / secs), instructions_per_tx: ipt, wallets_per_tx: wpt, minted_kwh: r.minted_kwh,
          mint_tx_fee_lamports: fees, fee_lamports_per_kwh: Number((fees / kwh).toFixed(3)),
          // everything the payer spent in the run: fees, token-account rent, lookup-table fees and rent
          payer_spent_lamports: spent, lookup_table_txs: (await tableOps()) - opsBefore,
        };
        passes.push(pass);
        console.log(`\n[${format}] ${label}`);
        console.log(`  result ${r.result}: ${r.readings} readings, ${r.wallets} wallets, ${r.transactions} transactions (${r.confirmed} confirmed)`);
        console.log(`  wall time ${secs.toFixed(2)} s → ${pass.wallets_per_second} wallets/s, ${pass.readings_per_second} readings/s`);
        console.log(`  instructions per tx min/median/max ${ipt.min}/${ipt.median}/${ipt.max} (incl. 1 compute-budget ix); wallets per tx ${wpt.min}/${wpt.median}/${wpt.max}`);
        console.log(`  mint tx fees ${fees} lamports = ${pass.fee_lamports_per_kwh} lamports per minted kWh; payer spent ${spent} lamports in all (${pass.lookup_table_txs} lookup-table txs)`);
      }
    }
    const audit = await auditSupply({ pool, chain, mintAddress: mint, metrics });
    console.log(`\nsupply check: on-chain ${audit.supply_base_units} base units, recorded ${audit.recorded_total_base_units}, drift ${audit.drift_base_units}, wallets checked ${audit.wallets_checked}, mismatched ${audit.wallet_mismatches.length} → ${audit.ok ? 'OK' : 'DRIFT'}`);

    const result = {
      bench: 'mint', date: new Date().toISOString(), node: process.version, machine_note: 'shared 2-core machine; other work may have been running',
      readings_per_pass: READINGS, wallets: WALLETS, passes,
      supply_check: { ok: audit.ok, supply_base_units: audit.supply_base_units, recorded_base_units: audit.recorded_total_base_units, drift_base_units: audit.drift_base_units, wallets_checked: audit.wallets_checked },
    };
    mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/mint-${new Date().toISOString().slice(0, 10)}.json`;
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${file}`);
    if (!audit.ok) process.exitCode = 1;
  } finally {
    await ledger.stop().catch(() => {});
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
