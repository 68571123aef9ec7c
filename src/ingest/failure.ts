import { createBackoff } from '../lib/backoff.js';
import { sleep } from '../lib/retry.js';

/**
 * What kind of failure an ingest step hit, which decides what happens to the messages involved:
 * - `transient`: the server or the connection is the problem (lost connection, serialization
 *   failure, deadlock, pool exhausted, shutdown). Retrying the same work later will succeed, so
 *   it is retried with backoff for as long as it takes and nothing is acknowledged meanwhile.
 * - `deterministic`: the content is the problem (PostgreSQL refused a value). Retrying the same
 *   rows fails the same way forever, so the batch is split until the offending message is found.
 * - `unknown`: anything else. Retried a bounded number of times, then treated as deterministic
 *   for the messages involved — a bug must never turn into an ingestion stall.
 */
export type FailureKind = 'transient' | 'deterministic' | 'unknown';

// SQLSTATE classes/codes that say nothing about the data: connection exceptions (08), serialization
// failure and deadlock (40001, 40P01), insufficient resources (53), operator intervention such as
// admin shutdown or a cancelled/timed-out query (57), lock not available (55P03), system errors (58).
const TRANSIENT_SQLSTATE = /^(08|53|57|58)|^(40001|40P01|55P03)$/;
// Data exceptions (22, e.g. 22021 "invalid byte sequence") and integrity violations (23) not
// handled by ON CONFLICT: the row is the problem, not the server.
const DETERMINISTIC_SQLSTATE = /^(22|23)/;
// Node socket errors and the messages pg / pg-pool throw without a SQLSTATE. A verify worker that
// dies is deliberately not here: a message that crashes it every time must not be retried forever.
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
const TRANSIENT_MESSAGE = /connection terminated|connection error|timeout exceeded when trying to connect|query read timeout|not queryable|cannot use a pool after calling end|too many clients|the database system is (starting up|shutting down)/i;

export function classifyFailure(err: unknown): FailureKind {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^[0-9A-Z]{5}$/.test(code)) {
    if (TRANSIENT_SQLSTATE.test(code)) return 'transient';
    if (DETERMINISTIC_SQLSTATE.test(code)) return 'deterministic';
  }
  if (TRANSIENT_ERRNO.has(code)) return 'transient';
  if (typeof e?.message === 'string' && TRANSIENT_MESSAGE.test(e.message)) return 'transient';
  return 'unknown';
}

/** Thrown by an attempt that gave up on its work (not transient, or unknown retries used up). */
export class GaveUp extends Error {
  override name = 'GaveUp';
  constructor(
    readonly kind: 'deterministic' | 'unknown',
    override readonly cause: unknown,
  ) {
    super((cause as Error)?.message ?? String(cause));
  }
}

/**
 * Runs `run` over `items`; when it gives up (GaveUp), the items are split in halves and each half
 * retried, down to single items, which `poisoned` turns into a result of their own. Results keep
 * the items' order. Any other error (shutdown) propagates.
 */
export async function isolatePoison<I, R>(
  items: I[],
  run: (part: I[], depth: number) => Promise<R[]>,
  poisoned: (item: I, err: GaveUp) => Promise<R>,
  depth = 0,
): Promise<R[]> {
  try {
    return await run(items, depth);
  } catch (err) {
    if (!(err instanceof GaveUp)) throw err;
    if (items.length === 1) return [await poisoned(items[0]!, err)];
    if (items.length === 0) return [];
    const mid = Math.ceil(items.length / 2);
    const left = await isolatePoison(items.slice(0, mid), run, poisoned, depth + 1);
    const right = await isolatePoison(items.slice(mid), run, poisoned, depth + 1);
    return [...left, ...right];
  }
}

export interface RetryHooks {
  /** true once the pipeline gave up at shutdown: stop retrying and rethrow */
  aborted(): boolean;
  /** every failed attempt (metrics, throttled logging) */
  failed(operation: string, attempt: number, kind: FailureKind, err: unknown): void;
  /** a step that failed before passed */
  recovered(operation: string, attempts: number): void;
  /**
   * Whether the database answers right now. An unrecognised error while it does not is not the
   * message's fault: it is retried like a transient one, so an outage never turns into drops.
   */
  databaseAnswers(): Promise<boolean>;
}


/**
 * The retry policy of every ingest step: transient failures wait with backoff (100 ms → 5 s) and
 * try again for as long as it takes; deterministic ones give up at once; unknown ones after
 * `unknownTries` attempts while the database answers. Giving up throws GaveUp; being aborted
 * rethrows the last error as is.
 */
export async function withRetry<T>(operation: string, fn: () => Promise<T>, unknownTries: number, hooks: RetryHooks): Promise<T> {
  const backoff = createBackoff({ initialMs: 100, maxMs: 5_000 });
  let unknown = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      const v = await fn();
      if (attempt > 1) hooks.recovered(operation, attempt);
      return v;
    } catch (err) {
      if (hooks.aborted()) throw err;
      const kind = classifyFailure(err);
      hooks.failed(operation, attempt, kind, err);
      if (kind === 'deterministic') throw new GaveUp('deterministic', err);
      if (kind === 'unknown' && ++unknown >= unknownTries) {
        if (await hooks.databaseAnswers()) throw new GaveUp('unknown', err);
        unknown = 0;
      }
      const delay = backoff.next();
      for (let waited = 0; waited < delay && !hooks.aborted(); waited += 50) await sleep(50);
    }
  }
}
