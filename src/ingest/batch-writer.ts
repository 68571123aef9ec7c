import type { Logger } from 'pino';
import type { Outcome, Refusal, Stored } from '../domain/outcome.js';
import type { RejectReason } from '../domain/reasons.js';
import { insertReadings, markMetersSeen, type ReadingRow } from '../store/readings.js';
import { storeRegisterMessages, type RegisterMessage } from '../store/register-reads.js';
import { insertQuarantine, type QuarantineRow } from '../store/rejected.js';
import { withTransaction, type Pool } from '../store/pool.js';
import type { Verdict, Verified } from './evaluate-batch.js';
import { GaveUp, isolatePoison } from './failure.js';
import type { Transport } from './types.js';

export interface WriteItem {
  source: Transport;
  topic: string;
  payload: Buffer;
  receivedAt: number;
  /** epoch ms its verification ended (for the stage timings) */
  verifiedAt: number;
  verdict: Verdict;
}

/**
 * Runs one database step under the pipeline's retry policy: transient failures are retried until
 * they pass (or the pipeline is aborted, which rethrows the error as is); anything else ends in a
 * GaveUp — at once when deterministic, after `unknownTries` attempts when unrecognised.
 */
export type Attempt = <T>(operation: string, fn: () => Promise<T>, unknownTries: number) => Promise<T>;

export interface WriteDeps {
  pool: Pool;
  log: Logger;
  attempt: Attempt;
  /** how often an unrecognised error is retried on a whole batch before it is split */
  unknownTries: number;
  /** a message whose quarantine write failed too: it is acknowledged without being stored */
  dropped(reason: RejectReason): void;
}

/**
 * One transaction per batch: readings inserted (duplicates and conflicts classified by the
 * database), every refusal — conflicts included — quarantined, last_seen_at bumped. Nothing is
 * acknowledged before this resolves.
 *
 * A batch the database refuses for its content (or for a reason nobody recognises, after
 * retries) is split in halves until the offending message is alone; that message is quarantined
 * instead (or, if even that fails, logged, counted as dropped and acknowledged), and every other
 * message of the batch is written normally. Halves are not retried for unknown errors: the whole
 * batch already was.
 */
export async function writeBatch(items: WriteItem[], seenMeters: string[], deps: WriteDeps): Promise<Outcome[]> {
  let split = false;
  const results = await isolatePoison(
    items,
    (part, depth) => {
      if (depth > 0 && !split) {
        split = true;
        deps.log.warn({ size: items.length }, 'a batch failed for a reason retrying cannot fix; splitting it to isolate the message');
      }
      return deps.attempt('ingest_write', () => writeOnce(deps.pool, part, depth === 0 ? seenMeters : []), depth === 0 ? deps.unknownTries : 1);
    },
    (item, err) => writePoisoned(item, err, deps),
  );
  if (split && seenMeters.length) {
    await withTransaction(deps.pool, (c) => markMetersSeen(c, seenMeters, new Date())).catch((err: Error) =>
      deps.log.warn({ err: err.message }, 'could not mark meters seen after isolating a bad message'),
    );
  }
  return results;
}

/** The message the database would not take: quarantined with the reason, or dropped if even that fails. */
async function writePoisoned(item: WriteItem, cause: GaveUp, deps: WriteDeps): Promise<Outcome> {
  const v = item.verdict;
  const verdict: Refusal = v.ok
    ? {
        ok: false,
        reason: cause.kind === 'deterministic' ? 'invalid_payload' : 'unprocessable',
        detail: `database refused the reading: ${cause.message}`,
        meterId: v.meterId,
        timestamp: v.timestamp,
      }
    : v;
  const refused = { ...item, verdict };
  try {
    const [r] = await deps.attempt('ingest_quarantine', () => writeOnce(deps.pool, [refused], []), 1);
    return r!;
  } catch (err) {
    if (!(err instanceof GaveUp)) throw err; // aborted at shutdown
    deps.dropped(verdict.reason);
    deps.log.error(
      { reason: verdict.reason, source: item.source, meter: verdict.meterId, rawBytes: item.payload.length, err: (err as Error).message },
      'cannot quarantine a message; acknowledging it without storing it',
    );
    return told(verdict);
  }
}

/** A refusal as the sender is told it: an internal error's text stays in quarantine and the log. */
function told(v: Refusal): Refusal {
  return v.reason === 'unprocessable' ? { ...v, detail: null } : v;
}

/** The store's decision completed into the message's Outcome. */
function completed(v: Verified, s: Stored): Outcome {
  return s.ok ? { ...s, meterId: v.meterId, timestamp: v.timestamp } : { ...s, meterId: v.meterId, timestamp: v.timestamp };
}

async function writeOnce(pool: Pool, items: WriteItem[], seenMeters: string[]): Promise<Outcome[]> {
  return withTransaction(pool, async (client) => {
    const readings: ReadingRow[] = [];
    const registers: RegisterMessage[] = [];
    items.forEach((it, idx) => {
      const v = it.verdict;
      if (v.ok && v.register) {
        registers.push({
          idx, meterId: v.meterId, wallet: v.wallet, signature: v.signature, receivedAt: new Date(it.receivedAt),
          reads: v.register.reads, page: v.register.page, record: v.register.keepRecord ? Buffer.from(it.payload) : null,
        });
      } else if (v.ok) {
        readings.push({ idx, meterId: v.meterId, wallet: v.wallet, kwh: v.kwh, timestamp: v.timestamp, signature: v.signature, receivedAt: new Date(it.receivedAt) });
      }
    });
    const stored = await insertReadings(client, readings);
    const registerStored = await storeRegisterMessages(client, registers);
    const quarantine: QuarantineRow[] = [];
    // Every refusal — the verifier's or the store's (conflicts included) — is quarantined.
    const results = items.map((it, idx): Outcome => {
      const v = it.verdict;
      const o = v.ok ? completed(v, registerStored.get(idx) ?? stored.get(idx)!) : v;
      if (!o.ok) {
        quarantine.push({ source: it.source, topic: it.topic, meterId: o.meterId, raw: it.payload, reason: o.reason, detail: o.detail, receivedAt: new Date(it.receivedAt) });
      }
      return o.ok ? o : told(o);
    });
    await insertQuarantine(client, quarantine);
    await markMetersSeen(client, seenMeters, new Date());
    return results;
  });
}
