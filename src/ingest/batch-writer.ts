import type { Logger } from 'pino';
import { insertReadings, markMetersSeen, type ReadingRow } from '../store/readings.js';
import { insertQuarantine, type QuarantineRow } from '../store/rejected.js';
import { withTransaction, type Pool } from '../store/pool.js';
import type { Verdict } from './evaluate-batch.js';
import type { IngestResult, Transport } from './types.js';

export interface WriteItem {
  source: Transport;
  topic: string;
  payload: Buffer;
  receivedAt: number;
  verdict: Verdict;
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity): the row is the problem, not the server. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23)/.test(code);
}

/**
 * One transaction per batch: readings inserted (duplicates and conflicts classified by the
 * database), every refusal — conflicts included — quarantined, last_seen_at bumped. Nothing is
 * acknowledged before this resolves. A row Postgres itself refuses (e.g. a timestamp ajv allowed
 * but timestamptz cannot hold) would otherwise fail its batch forever, so on a data error the
 * batch is written row by row and the offending row is quarantined as invalid_payload instead.
 */
export async function writeBatch(pool: Pool, items: WriteItem[], seenMeters: string[], log: Logger): Promise<IngestResult[]> {
  try {
    return await writeOnce(pool, items, seenMeters);
  } catch (err) {
    if (!isDataError(err) || items.length === 0) throw err;
    log.warn({ err: (err as Error).message, size: items.length }, 'database refused a row; writing the batch row by row');
  }
  const results: IngestResult[] = [];
  for (const item of items) {
    try {
      results.push(...(await writeOnce(pool, [item], [])));
    } catch (err) {
      if (!isDataError(err)) throw err;
      const v = item.verdict;
      const verdict: Verdict = {
        ok: false,
        reason: 'invalid_payload',
        detail: `database refused the reading: ${(err as Error).message}`,
        meterId: v.meterId,
        timestamp: v.timestamp,
      };
      results.push(...(await writeOnce(pool, [{ ...item, verdict }], [])));
    }
  }
  await withTransaction(pool, (c) => markMetersSeen(c, seenMeters, new Date()));
  return results;
}

async function writeOnce(pool: Pool, items: WriteItem[], seenMeters: string[]): Promise<IngestResult[]> {
  return withTransaction(pool, async (client) => {
    const readings: ReadingRow[] = [];
    items.forEach((it, idx) => {
      const v = it.verdict;
      if (v.ok) {
        readings.push({ idx, meterId: v.meterId, wallet: v.wallet, kwh: v.kwh, timestamp: v.timestamp, signature: v.signature, receivedAt: new Date(it.receivedAt) });
      }
    });
    const stored = await insertReadings(client, readings);
    const quarantine: QuarantineRow[] = [];
    const results = items.map((it, idx): IngestResult => {
      const v = it.verdict;
      const q = (reason: string, detail: string | null): QuarantineRow => ({
        source: it.source, topic: it.topic, meterId: v.meterId, raw: it.payload, reason, detail, receivedAt: new Date(it.receivedAt),
      });
      if (!v.ok) {
        quarantine.push(q(v.reason, v.detail));
        return { outcome: v.reason, meterId: v.meterId, readingId: null, timestamp: v.timestamp, detail: v.detail };
      }
      const s = stored.get(idx)!;
      if (s.outcome === 'conflict') {
        const detail = `reading ${s.readingId} is already stored for ${v.meterId} at ${v.timestamp} with different content`;
        quarantine.push(q('conflict', detail));
        return { outcome: 'conflict', meterId: v.meterId, readingId: null, timestamp: v.timestamp, detail };
      }
      return { outcome: s.outcome, meterId: v.meterId, readingId: s.readingId, timestamp: v.timestamp, detail: null };
    });
    await insertQuarantine(client, quarantine);
    await markMetersSeen(client, seenMeters, new Date());
    return results;
  });
}
