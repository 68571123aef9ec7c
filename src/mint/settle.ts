import { ChainTxError, ChainUnavailableError } from '../chain/errors.js';
import { kwhMetricValue } from '../domain/kwh.js';
import { createBackoff } from '../lib/backoff.js';
import { sleep } from '../lib/retry.js';
import { confirmOutbox, markSent, releaseOutbox, type OutboxRow } from '../store/outbox.js';
import type { MintDeps } from './deps.js';

/** An unresolved outbox row as the settle loop tracks it. */
export interface Tracked {
  id: string;
  signature: string;
  bytes: Uint8Array;
  lastValidBlockHeight: number;
  status: 'pending' | 'sent';
  rejected: boolean;
  lastSendAt: number;
  /** known for rows built in this process (reports only) */
  instructionCount?: number;
  wallets?: number;
}

export function tracked(row: OutboxRow): Tracked {
  return {
    id: row.id,
    signature: row.signature,
    bytes: new Uint8Array(row.tx_bytes),
    lastValidBlockHeight: Number(row.last_valid_block_height),
    status: row.status as 'pending' | 'sent',
    rejected: row.rejected,
    lastSendAt: 0,
  };
}

export interface SettleReport {
  confirmed: number;
  expired: number;
  failed: number;
  unresolved: number;
  confirmedBaseUnits: bigint;
  signatures: Map<string, 'confirmed' | 'expired' | 'failed'>;
}


/**
 * Sends one recorded transaction (the stored bytes, so always the same signature). A refusal is
 * remembered but does not resolve the row: an earlier attempt may still land, so only the chain's
 * status or the blockhash's expiry decides. An unknown outcome (RPC down) counts as maybe-sent.
 */
export async function sendRecorded(d: MintDeps, t: Tracked): Promise<void> {
  const first = t.status === 'pending';
  let refusal: string | null = null;
  try {
    await d.chain.sendRawTransaction(t.bytes);
  } catch (err) {
    if (err instanceof ChainTxError) {
      if (err.kind !== 'already-processed') refusal = `refused (${err.kind}): ${err.message}`.slice(0, 500);
    } else if (!(err instanceof ChainUnavailableError)) throw err;
    d.logger.warn({ outbox_id: t.id, signature: t.signature, err: (err as Error).message }, 'mint transaction send failed; will re-send or let it expire');
  }
  t.lastSendAt = Date.now();
  t.status = 'sent';
  if (refusal) t.rejected = true;
  await markSent(d.pool, t.id, refusal);
  if (first) d.metrics.mintTransactions.inc({ outcome: 'sent' });
}

export async function sendAll(d: MintDeps, rows: Tracked[], concurrency = 4): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < rows.length) await sendRecorded(d, rows[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
}

/**
 * Polls getSignatureStatuses until every row is resolved or the deadline passes:
 *  finalized, no error        → confirmed, readings minted (one DB transaction)
 *  finalized with an error    → failed, readings released
 *  unknown AND block height > last valid height (re-checked after reading the height)
 *                             → expired (or failed if the node had refused it), readings released
 * Anything else is re-sent every resendMs while its blockhash is valid. RPC outages back off.
 */
export async function settle(
  d: MintDeps,
  rows: Tracked[],
  opts: { deadlineMs: number; pollMs?: number; resendMs?: number; /** 1 = a single look (start-up reconcile) */ maxPasses?: number },
): Promise<SettleReport> {
  const rep: SettleReport = { confirmed: 0, expired: 0, failed: 0, unresolved: 0, confirmedBaseUnits: 0n, signatures: new Map() };
  const open = new Map(rows.map((r) => [r.id, r]));
  const deadline = Date.now() + opts.deadlineMs;
  const resendMs = opts.resendMs ?? 2_000;
  const backoff = createBackoff({ initialMs: 250, maxMs: 5_000 });
  let passes = 0;

  const resolve = async (t: Tracked, outcome: 'confirmed' | 'expired' | 'failed', why: string | null) => {
    if (outcome === 'confirmed') await d.hooks?.step?.('finalized', [t.id]);
    const res = outcome === 'confirmed' ? await confirmOutbox(d.pool, t.id, t.signature) : await releaseOutbox(d.pool, t.id, outcome, why);
    open.delete(t.id);
    rep.signatures.set(t.signature, outcome);
    if (!res.applied) return; // resolved by another process first
    rep[outcome]++;
    d.metrics.mintTransactions.inc({ outcome });
    if (outcome === 'confirmed') {
      d.onMinted?.(res.wallets);
      rep.confirmedBaseUnits += res.totalBaseUnits;
      d.metrics.tokensMinted.inc(kwhMetricValue(res.totalBaseUnits));
    } else {
      d.logger.warn({ outbox_id: t.id, signature: t.signature, outcome, why, readings_released: res.readings }, 'mint transaction did not land; its readings are released for a rebuild');
    }
  };

  while (open.size > 0 && Date.now() < deadline && !d.isStopping?.() && passes < (opts.maxPasses ?? Infinity)) {
    passes++;
    try {
      const list = [...open.values()];
      const statuses = await d.chain.getSignatureStatuses(list.map((t) => t.signature));
      const missing: Tracked[] = [];
      for (const [i, t] of list.entries()) {
        const st = statuses[i];
        if (!st) missing.push(t);
        // Only a finalized status is final, for failures too: a fork could still drop either.
        else if (st.confirmationStatus !== 'finalized') continue;
        else if (st.err) await resolve(t, 'failed', `landed with error ${JSON.stringify(st.err)}`.slice(0, 500));
        else await resolve(t, 'confirmed', null);
      }
      if (missing.length > 0) {
        const height = await d.chain.getBlockHeight();
        const past = missing.filter((t) => height > t.lastValidBlockHeight);
        if (past.length > 0) {
          // The height is read first: a transaction cannot land after it, so "still unknown" is final.
          const again = await d.chain.getSignatureStatuses(past.map((t) => t.signature));
          for (const [i, t] of past.entries()) {
            if (!again[i]) await resolve(t, t.rejected ? 'failed' : 'expired', `blockhash expired at height ${height} without landing`);
          }
        }
        const now = Date.now();
        const resend = missing.filter((t) => height <= t.lastValidBlockHeight && (t.status === 'pending' || now - t.lastSendAt >= resendMs));
        await sendAll(d, resend);
      }
      backoff.reset();
    } catch (err) {
      if (!(err instanceof ChainUnavailableError)) throw err;
      const retryMs = backoff.next();
      d.logger.warn({ outbox_ids: [...open.keys()].slice(0, 20), open: open.size, err: err.message, retry_ms: retryMs }, 'chain unavailable while confirming mint transactions');
      if (passes >= (opts.maxPasses ?? Infinity)) break;
      await sleep(retryMs);
      continue;
    }
    if (open.size > 0) await sleep(opts.pollMs ?? 250);
  }
  rep.unresolved = open.size;
  return rep;
}
