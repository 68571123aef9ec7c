import type { Logger } from 'pino';
import type { EvaluationLimits, MeterSnapshot } from '../domain/evaluate.js';
import type { Verdict } from './evaluate-batch.js';
import { isolatePoison, withRetry, type RetryHooks } from './failure.js';
import type { MeterCache } from './meter-cache.js';
import type { IngestMessage } from './types.js';
import type { Verifier } from './verifier.js';

export interface VerifyStageDeps {
  cache: MeterCache;
  verifier: Verifier;
  limits: EvaluationLimits;
  log: Logger;
  hooks: RetryHooks;
  /** attempts an unrecognised error gets on a whole chunk before it is split */
  unknownTries: number;
}

/**
 * The pipeline's verify stage: verdicts for a chunk, in message order. A meter lookup that fails
 * transiently is retried (the pipeline's hooks); a message that makes verification fail for what
 * it contains gets a refusal of its own (split until it is alone), and the rest are verified.
 */
export function verifyChunk(chunk: IngestMessage[], deps: VerifyStageDeps): Promise<Verdict[]> {
  return isolatePoison(
    chunk,
    (part, depth) => withRetry('meter_lookup', () => verifyOnce(part, deps), depth === 0 ? deps.unknownTries : 1, deps.hooks),
    async (m, err): Promise<Verdict> => {
      deps.log.warn({ source: m.source, bytes: m.payload.length, err: err.message }, 'a message could not be evaluated; quarantining it');
      return { ok: false, reason: err.kind === 'deterministic' ? 'invalid_payload' : 'unprocessable', detail: `could not be evaluated: ${err.message}`, meterId: m.route.meterId, timestamp: null };
    },
  );
}

async function verifyOnce(batch: IngestMessage[], deps: VerifyStageDeps): Promise<Verdict[]> {
  const items = batch.flatMap((m) => (m.route.ok ? [{ meterId: m.route.meterId, channel: m.route.channel, payload: m.payload, receivedAt: m.receivedAt }] : []));
  // a message naming no meter (HTTP body without a meter_id) needs no lookup
  const snapshots = await deps.cache.getSnapshots(items.flatMap((it) => (it.meterId === null ? [] : [it.meterId])));
  const meters: Record<string, MeterSnapshot> = {};
  for (const [id, s] of snapshots) if (s) meters[id] = s;
  const verdicts = items.length ? await deps.verifier.evaluate({ items, meters, limits: deps.limits }) : [];
  let k = 0;
  return batch.map((m): Verdict => (m.route.ok ? verdicts[k++]! : m.route)); // a transport's own refusal is final
}
