import type { Keypair } from '@solana/web3.js';
import { baseUnitsToKwh } from '../domain/kwh.js';
import { AGAIN, retry } from '../lib/retry.js';
import { selectMintCandidates } from '../store/mint-readings.js';
import { listUnresolved } from '../store/outbox.js';
import { getTokenMint, type TokenMintRow } from '../store/token-mint.js';
import { supplyCheck } from './audit.js';
import { recordReadingsGroup } from './build.js';
import { createLookupTables } from './lookup-tables.js';
import { refreshUnmintedGauges } from './gauges.js';
import { withMintLock } from './lock.js';
import { chunkWallets, planBatch } from './plan.js';
import type { MintDeps, MintTarget } from './deps.js';
import { sendAll, settle, tracked, type SettleReport, type Tracked } from './settle.js';
import { LOCAL_FUNDING_LAMPORTS, resolveMint } from './token.js';
import { operatorMint, type OperatorMintRequest } from './operator.js';
import { mintOneReading } from './single.js';

export interface MinterOptions extends Omit<MintDeps, 'isStopping' | 'lookupTables'> {
  payer: Keypair;
  configuredMint: string | null;
  cluster: string;
  maxReadingsPerRun: number;
  /** wallets per signing group; each group gets a fresh blockhash (default 600) */
  walletsPerGroup?: number;
  /** how long a run waits for its transactions to finalize or expire (default 120 s) */
  settleDeadlineMs?: number;
  /** 'v0' (default): mintTo to existing accounts through lookup tables; 'legacy': never */
  txFormat?: 'v0' | 'legacy';
}

export type RunResult = 'success' | 'empty' | 'failed' | 'skipped';

export interface RunReport {
  trigger: string;
  result: RunResult;
  readings: number;
  wallets: number;
  transactions: number;
  /** instructions per transaction built in this run (incl. the compute-budget instruction) */
  instructionsPerTx: number[];
  walletsPerTx: number[];
  confirmed: number;
  expired: number;
  failed: number;
  unresolved: number;
  /** outbox rows left by earlier runs or crashes that this run resolved */
  reconciled: number;
  minted_kwh: string;
  skipped_readings: number;
  duration_ms: number;
  error?: string;
}

/**
 * The batch minter. A run: take the cross-instance lock → make sure the mint exists → reconcile
 * outbox rows left unresolved → claim and aggregate unminted readings per wallet → per group of
 * wallets sign, record (commit) and only then send → poll until finalized or expired.
 */
export function createMinter(o: MinterOptions) {
  let stopping = false;
  let current: Promise<RunReport> | null = null;
  let mint: TokenMintRow | null = null;
  const logger = o.logger.child({ component: 'minter' });
  const lookupTables = o.txFormat === 'legacy' ? null : createLookupTables({
    pool: o.pool, chain: o.chain, payer: o.payer, logger,
    onRecorded: o.hooks?.step ? (kind) => o.hooks?.step?.(`table-${kind}-recorded`, []) : undefined,
  });
  const d: MintDeps = { ...o, logger, isStopping: () => stopping, lookupTables };

  const mintRow = async (create: boolean): Promise<TokenMintRow> => {
    mint ??= await resolveMint({ pool: o.pool, chain: o.chain, configuredMint: o.configuredMint, cluster: o.cluster, logger: o.logger, create });
    return mint;
  };
  /** What single and operator mints are built for: the recorded mint (never created here) and its signer. */
  const target = async (): Promise<MintTarget> => ({ mintAddress: (await mintRow(false)).mint_address, payer: o.payer });

  /** One look at every unresolved outbox row: resolve what the chain can decide now, re-send the rest. */
  const reconcilePass = async (): Promise<{ report: SettleReport; open: Tracked[] }> => {
    const rows = (await listUnresolved(o.pool)).map(tracked);
    const report = await settle(d, rows, { deadlineMs: 60_000, maxPasses: 1 });
    const done = new Set(report.signatures.keys());
    return { report, open: rows.filter((r) => !done.has(r.signature)) };
  };

  const runLocked = async (rep: RunReport): Promise<void> => {
    const m = await mintRow(true);
    if (o.chain.isLocal) await o.chain.ensureFunded(LOCAL_FUNDING_LAMPORTS / 10n);
    const rec = await reconcilePass();
    rep.reconciled = rec.report.confirmed + rec.report.expired + rec.report.failed;
    const candidates = await selectMintCandidates(o.pool, o.maxReadingsPerRun);
    const plan = planBatch(candidates);
    rep.skipped_readings = plan.skipped.length;
    if (plan.skipped.length) d.logger.warn({ skipped: plan.skipped.slice(0, 20), count: plan.skipped.length }, 'readings that cannot be minted were left unminted');
    const mine: Tracked[] = [];
    for (const group of chunkWallets(plan.wallets, o.walletsPerGroup ?? 600)) {
      if (stopping) break;
      const rows = await recordReadingsGroup(d, { mintAddress: m.mint_address, payer: o.payer }, group);
      if (rows.length === 0) continue;
      const ids = rows.map((r) => r.id);
      await o.hooks?.step?.('recorded', ids);
      await sendAll(d, rows);
      await o.hooks?.step?.('sent', ids);
      mine.push(...rows);
      rep.wallets += rows.reduce((s, r) => s + (r.wallets ?? 0), 0);
    }
    rep.readings = plan.wallets.reduce((s, w) => s + w.readingIds.length, 0);
    rep.transactions = mine.length;
    rep.instructionsPerTx = mine.map((r) => r.instructionCount ?? 0);
    rep.walletsPerTx = mine.map((r) => r.wallets ?? 0);
    const s = await settle(d, [...rec.open, ...mine], { deadlineMs: o.settleDeadlineMs ?? 120_000 });
    const ours = new Set(mine.map((r) => r.signature));
    for (const [sig, outcome] of s.signatures) if (ours.has(sig)) rep[outcome]++;
    rep.reconciled += [...s.signatures.keys()].filter((sig) => !ours.has(sig)).length;
    rep.unresolved = mine.length - rep.confirmed - rep.expired - rep.failed;
    rep.minted_kwh = baseUnitsToKwh(s.confirmedBaseUnits);
    rep.result = mine.length === 0 ? (rep.reconciled > 0 ? 'success' : 'empty') : rep.confirmed === mine.length ? 'success' : 'failed';
    await supplyCheck(d, m.mint_address);
  };

  const run = async (trigger: string): Promise<RunReport> => {
    const t0 = Date.now();
    const rep = emptyReport(trigger);
    try {
      const locked = await withLock(async () => runLocked(rep));
      if (!locked) d.logger.info({ trigger }, 'another minter holds the lock; run skipped');
    } catch (err) {
      rep.result = 'failed';
      rep.error = (err as Error).message;
      d.logger.error({ err, trigger }, 'mint run failed; readings stay unminted for the next run');
    }
    rep.duration_ms = Date.now() - t0;
    o.metrics.mintRuns.inc({ result: rep.result });
    if (rep.result !== 'skipped') d.logger.info({ ...rep, instructionsPerTx: undefined, walletsPerTx: undefined }, 'mint run finished');
    await refreshUnmintedGauges(o.pool, o.metrics).catch(() => {});
    return rep;
  };

  const withLock = async (fn: () => Promise<void>): Promise<boolean> => (await withMintLock(o.pool, fn)).acquired;

  return {
    /** Mints one stored reading now, through the batch's outbox path (outside the batch lock). */
    mintReading: async (readingId: string, wallet: string) => mintOneReading(d, await target(), readingId, wallet),
    /** An admin's operator mint, idempotent by its key (operator.ts). */
    operatorMint: async (req: OperatorMintRequest) => operatorMint(d, await target(), req),
    /** Runs one batch now; resolves 'skipped' if a run is in progress here or on another gateway. */
    run(trigger = 'manual'): Promise<RunReport> {
      if (stopping) return Promise.resolve({ ...emptyReport(trigger), result: 'skipped' });
      if (current) {
        o.metrics.mintRuns.inc({ result: 'skipped' });
        return Promise.resolve(emptyReport(trigger));
      }
      current = run(trigger).finally(() => (current = null));
      return current;
    },
    /** Start-up reconcile: one pass under the lock; rows the chain cannot decide yet stay for the next run. */
    async reconcile(): Promise<SettleReport | null> {
      let report: SettleReport | null = null;
      await withLock(async () => {
        report = (await reconcilePass()).report;
      });
      return report;
    },
    /** The recorded mint (created under the lock if none exists yet). */
    async ensureMint(): Promise<TokenMintRow> {
      // Another gateway holding the lock may be creating the mint right now: wait for its record
      // (every 500 ms; after 21 tries mintRow(false) says what is missing).
      if (mint) return mint;
      return retry(async (attempt) => {
        const got = await withLock(async () => void (await mintRow(true)));
        if (got || attempt >= 20 || (await getTokenMint(o.pool))) return mintRow(false);
        return AGAIN;
      }, { backoff: { initialMs: 500, maxMs: 500 } });
    },
    mintRow,
    async stop(): Promise<void> {
      stopping = true;
      await current?.catch(() => {});
    },
  };
}

function emptyReport(trigger: string): RunReport {
  return {
    trigger, result: 'skipped', readings: 0, wallets: 0, transactions: 0, instructionsPerTx: [], walletsPerTx: [],
    confirmed: 0, expired: 0, failed: 0, unresolved: 0, reconciled: 0, minted_kwh: '0', skipped_readings: 0, duration_ms: 0,
  };
}

export type Minter = ReturnType<typeof createMinter>;
