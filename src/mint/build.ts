import type { Keypair } from '@solana/web3.js';
import type pg from 'pg';
import { buildMintTransactions } from '../chain/tokens.js';
import { stillClaimable } from '../store/mint-readings.js';
import { recordOutbox, type NewOutboxTx } from '../store/outbox.js';
import { planBatch, type WalletPlan } from './plan.js';
import type { MintDeps, Tracked } from './settle.js';

export interface BuildTarget {
  mintAddress: string;
  payer: Keypair;
}

/**
 * Signs the transactions for `wallets` against a fresh blockhash and records them in the outbox
 * (claiming their readings) in one DB transaction. Nothing is sent here. Returns null when a
 * reading was claimed by someone else in the meantime: nothing was recorded.
 */
export async function buildAndRecord(
  d: MintDeps,
  target: BuildTarget,
  wallets: WalletPlan[],
  kind: 'readings' | 'operator',
  extra?: (client: pg.PoolClient, ids: string[]) => Promise<void>,
): Promise<Tracked[] | null> {
  const existing = await d.chain.getExistingAtas(target.mintAddress, wallets.map((w) => w.wallet));
  const { blockhash, lastValidBlockHeight } = await d.chain.getLatestBlockhash();
  const built = buildMintTransactions({
    mint: target.mintAddress,
    payer: target.payer,
    entries: wallets.map((w) => ({ wallet: w.wallet, baseUnits: w.baseUnits })),
    existingAtas: existing,
    blockhash,
  });
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
 * buildAndRecord for readings, rebuilt from what is still claimable when it loses a race with a
 * concurrent claim (mint-from-reading). Returns [] if nothing is left.
 */
export async function recordReadingsGroup(d: MintDeps, target: BuildTarget, group: WalletPlan[], attempts = 3): Promise<Tracked[]> {
  let wallets = group;
  for (let i = 0; i < attempts && wallets.length > 0; i++) {
    const rows = await buildAndRecord(d, target, wallets, 'readings');
    if (rows) return rows;
    d.logger.info({ wallets: wallets.length }, 'some readings were claimed concurrently; rebuilding the group');
    wallets = planBatch(await stillClaimable(d.pool, wallets.flatMap((w) => w.readingIds))).wallets;
  }
  return [];
}
