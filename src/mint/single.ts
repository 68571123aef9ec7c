import { DomainError, notFound } from '../domain/errors.js';
import { getReadingMintState } from '../store/mint-readings.js';
import { buildAndRecord } from './build.js';
import type { MintDeps, MintTarget } from './deps.js';
import { planBatch } from './plan.js';
import { sendAll, settle, type Tracked } from './settle.js';

export interface SingleMintResult {
  /** 'pending' when the deadline passed before finality; the next reconcile finishes it */
  status: 'confirmed' | 'pending';
  signature: string;
  outboxId: string;
  baseUnits: bigint;
}

/** Sends one recorded transaction and waits for it; refuses (503) if it provably did not land. */
export async function sendAndSettle(d: MintDeps, rows: Tracked[], baseUnits: bigint, deadlineMs: number): Promise<SingleMintResult> {
  const t = rows[0]!;
  await d.hooks?.step?.('recorded', [t.id]);
  await sendAll(d, rows);
  await d.hooks?.step?.('sent', [t.id]);
  const rep = await settle(d, rows, { deadlineMs });
  const outcome = rep.signatures.get(t.signature);
  if (outcome === 'expired' || outcome === 'failed') {
    throw new DomainError('mint_not_confirmed', `transaction ${t.signature} ${outcome} without minting; nothing was minted and it is safe to retry`);
  }
  return { status: outcome === 'confirmed' ? 'confirmed' : 'pending', signature: t.signature, outboxId: t.id, baseUnits };
}

/**
 * Mints one reading now through the same outbox path as the batch: claim in the outbox row,
 * commit, send, poll. A reading claimed by a pending batch (or minted already) is a 409.
 */
export async function mintOneReading(d: MintDeps, target: MintTarget, readingId: string, wallet: string, deadlineMs = 60_000): Promise<SingleMintResult> {
  const r = await getReadingMintState(d.pool, readingId);
  if (!r) throw notFound(`reading ${readingId}`);
  if (r.wallet_address !== wallet) throw new DomainError('wallet_mismatch', `reading ${readingId} belongs to another wallet`);
  if (r.minted) throw new DomainError('already_minted', `reading ${readingId} was minted in transaction ${r.mint_tx_signature}`);
  if (r.mint_outbox_id) throw new DomainError('mint_pending', `reading ${readingId} is claimed by pending mint transaction ${r.mint_outbox_id}`);
  const plan = planBatch([r]);
  if (plan.wallets.length === 0) throw new DomainError('unmintable_reading', plan.skipped[0]?.reason ?? 'reading cannot be minted');
  // Lookup-table work (creating/extending tables) is only safe under the mint lock, which this
  // request path does not hold; one transfer gains nothing from a table anyway, so it goes legacy.
  const rows = await buildAndRecord({ ...d, lookupTables: null }, target, plan.wallets, 'readings');
  if (!rows) throw new DomainError('mint_pending', `reading ${readingId} was claimed by a concurrent mint`);
  return sendAndSettle(d, rows, plan.wallets[0]!.baseUnits, deadlineMs);
}
