import type pg from 'pg';
import { ChainTxError, ChainUnavailableError } from '../chain/errors.js';
import { buildMintTransactions, deriveAta, type BuiltMintTx } from '../chain/tokens.js';
import { buildMintTransactionsV0 } from '../chain/tokens-v0.js';
import { stillClaimable } from '../store/mint-readings.js';
import { recordOutbox, type NewOutboxTx } from '../store/outbox.js';
import { planBatch, type WalletPlan } from './plan.js';
import type { MintDeps, MintTarget } from './deps.js';
import type { Tracked } from './settle.js';

/**
 * Signs the transactions for `wallets` against a fresh blockhash and records them in the outbox
 * (claiming their readings) in one DB transaction. Nothing is sent here. Returns null when a
 * reading was claimed by someone else in the meantime: nothing was recorded.
 */
export async function buildAndRecord(
  d: MintDeps,
  target: MintTarget,
  wallets: WalletPlan[],
  kind: 'readings' | 'operator',
  extra?: (client: pg.PoolClient, ids: string[]) => Promise<void>,
): Promise<Tracked[] | null> {
  const existing = await d.chain.getExistingAtas(target.mintAddress, wallets.map((w) => w.wallet));
  const tables = kind === 'readings' ? await usableTables(d, target.mintAddress, existing) : [];
  const inTables = new Set(tables.flatMap((t) => t.state.addresses.map((a) => a.toBase58())));
  const viaTable = (w: WalletPlan) => inTables.has(deriveAta(target.mintAddress, w.wallet).toBase58());
  const { blockhash, lastValidBlockHeight } = await d.chain.getLatestBlockhash();
  const entriesOf = (ws: WalletPlan[]) => ws.map((w) => ({ wallet: w.wallet, baseUnits: w.baseUnits }));
  const v0 = wallets.filter(viaTable);
  const legacy = wallets.filter((w) => !viaTable(w));
  const built: BuiltMintTx[] = [
    ...(v0.length > 0 ? buildMintTransactionsV0({ mint: target.mintAddress, payer: target.payer, entries: entriesOf(v0), tables, blockhash }) : []),
    ...(legacy.length > 0 ? buildMintTransactions({ mint: target.mintAddress, payer: target.payer, entries: entriesOf(legacy), existingAtas: existing, blockhash }) : []),
  ];
  const readingsOf = new Map(wallets.map((w) => [w.wallet, w.readingIds]));
  const rows: NewOutboxTx[] = built.map((b) => ({
    kind,
    mintAddress: target.mintAddress,
    signature: b.signature,
    blockhash,
    lastValidBlockHeight,
    bytes: b.bytes,
    instructionCount: b.instructionCount,
    entries: b.entries,
    readingIds: b.entries.flatMap((e) => readingsOf.get(e.wallet) ?? []),
  }));
  const ids = await recordOutbox(d.pool, rows, extra);
  if (!ids) return null;
  for (const b of built) d.metrics.mintInstructionsPerTx.observe(b.instructionCount);
  return rows.map((r, i) => ({
    id: ids[i]!,
    signature: r.signature,
    bytes: r.bytes,
    lastValidBlockHeight,
    status: 'pending',
    rejected: false,
    lastSendAt: 0,
    instructionCount: r.instructionCount,
    wallets: r.entries.length,
  }));
}

/**
 * Lookup tables holding the existing token accounts (v0 packing), or none: legacy mode, or the
 * chain refused or did not answer the table work — legacy transactions mint the same amounts,
 * only less densely.
 */
async function usableTables(d: MintDeps, mint: string, existing: ReadonlySet<string>) {
  if (!d.lookupTables || existing.size === 0) return [];
  try {
    return await d.lookupTables.prepare(mint, [...existing]);
  } catch (err) {
    if (!(err instanceof ChainUnavailableError || err instanceof ChainTxError)) throw err;
    d.logger.warn({ err: err.message }, 'lookup tables not available; packing legacy transactions');
    return [];
  }
}

/**
 * buildAndRecord for readings, rebuilt from what is still claimable when it loses a race with a
 * concurrent claim (mint-from-reading). Returns [] if nothing is left.
 */
export async function recordReadingsGroup(d: MintDeps, target: MintTarget, group: WalletPlan[], attempts = 3): Promise<Tracked[]> {
  let wallets = group;
  for (let i = 0; i < attempts && wallets.length > 0; i++) {
    const rows = await buildAndRecord(d, target, wallets, 'readings');
    if (rows) return rows;
    d.logger.info({ wallets: wallets.length }, 'some readings were claimed concurrently; rebuilding the group');
    wallets = planBatch(await stillClaimable(d.pool, wallets.flatMap((w) => w.readingIds))).wallets;
  }
  return [];
}
