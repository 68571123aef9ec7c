import { badRequest, conflict, notFound, unavailable } from '../domain/errors.js';
import { baseUnitsToKwh, kwhToBaseUnits, U64_MAX } from '../domain/kwh.js';
import { getReadingMintState } from '../store/mint-readings.js';
import { insertOperatorMint } from '../store/operator-mints.js';
import { buildAndRecord, type BuildTarget } from './build.js';
import { planBatch } from './plan.js';
import { sendAll, settle, type MintDeps, type Tracked } from './settle.js';

export interface SingleMintResult {
  /** 'pending' when the deadline passed before finality; the next reconcile finishes it */
  status: 'confirmed' | 'pending';
  signature: string;
  outboxId: string;
  baseUnits: bigint;
}

/** Sends one recorded transaction and waits for it; refuses (503) if it provably did not land. */
async function sendAndSettle(d: MintDeps, rows: Tracked[], baseUnits: bigint, deadlineMs: number): Promise<SingleMintResult> {
  const t = rows[0]!;
  await d.hooks?.step?.('recorded', [t.id]);
  await sendAll(d, rows);
  await d.hooks?.step?.('sent', [t.id]);
  const rep = await settle(d, rows, { deadlineMs });
  const outcome = rep.signatures.get(t.signature);
  if (outcome === 'expired' || outcome === 'failed') {
    throw unavailable('mint_not_confirmed', `transaction ${t.signature} ${outcome} without minting; nothing was minted and it is safe to retry`);
  }
  return { status: outcome === 'confirmed' ? 'confirmed' : 'pending', signature: t.signature, outboxId: t.id, baseUnits };
}

/**
 * Mints one reading now through the same outbox path as the batch: claim in the outbox row,
 * commit, send, poll. A reading claimed by a pending batch (or minted already) is a 409.
 */
export async function mintOneReading(d: MintDeps, target: BuildTarget, readingId: string, wallet: string, deadlineMs = 60_000): Promise<SingleMintResult> {
  const r = await getReadingMintState(d.pool, readingId);
  if (!r) throw notFound(`reading ${readingId}`);
  if (r.wallet_address !== wallet) throw badRequest('wallet_mismatch', `reading ${readingId} belongs to another wallet`);
  if (r.minted) throw conflict('already_minted', `reading ${readingId} was minted in transaction ${r.mint_tx_signature}`);
  if (r.mint_outbox_id) throw conflict('mint_pending', `reading ${readingId} is claimed by pending mint transaction ${r.mint_outbox_id}`);
  const plan = planBatch([r]);
  if (plan.wallets.length === 0) throw badRequest('unmintable_reading', plan.skipped[0]?.reason ?? 'reading cannot be minted');
  const rows = await buildAndRecord(d, target, plan.wallets, 'readings');
  if (!rows) throw conflict('mint_pending', `reading ${readingId} was claimed by a concurrent mint`);
  return sendAndSettle(d, rows, plan.wallets[0]!.baseUnits, deadlineMs);
}

export interface OperatorMintRequest {
  wallet: string;
  amountKwh: string;
  reason: string;
  requestedBy: string;
}

/** An operator mint: recorded with its reason in the same DB transaction as its outbox row. */
export async function operatorMint(d: MintDeps, target: BuildTarget, req: OperatorMintRequest, deadlineMs = 60_000): Promise<SingleMintResult & { operatorMintId: string }> {
  const units = kwhToBaseUnits(req.amountKwh);
  if (units <= 0n || units > U64_MAX) throw badRequest('invalid_amount', 'amount must be > 0 and fit a u64 in base units');
  let operatorMintId = '';
  const rows = await buildAndRecord(d, target, [{ wallet: req.wallet, baseUnits: units, readingIds: [] }], 'operator', async (c, ids) => {
    const row = await insertOperatorMint(c, { outboxId: ids[0]!, wallet: req.wallet, amountKwh: baseUnitsToKwh(units), reason: req.reason, requestedBy: req.requestedBy });
    operatorMintId = row.id;
  });
  if (!rows) throw new Error('operator mint claimed no readings and cannot conflict');
  d.logger.info({ operator_mint_id: operatorMintId, outbox_id: rows[0]!.id, wallet: req.wallet, amount: req.amountKwh, requested_by: req.requestedBy }, 'operator mint recorded');
  return { ...(await sendAndSettle(d, rows, units, deadlineMs)), operatorMintId };
}
