import { backoffDelay, type BackoffPolicy } from './backoff.js';

/** A plain wait (polls and retry loops; timers that guard one request keep their own setTimeout). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Returned by a retry's function: "not yet", try again after the next backoff delay. */
export const AGAIN: unique symbol = Symbol('retry again');

export interface RetryOptions {
  /** the wait before each further try */
  backoff: BackoffPolicy;
  /** most tries in all (default: until it succeeds or throws something not retryable) */
  attempts?: number;
  /** errors worth another try (default: none; a thrown error ends the retry at once) */
  retryable?: (err: unknown) => boolean;
  /** the error when the tries run out on AGAIN (a retryable error is rethrown as is) */
  exhausted?: () => Error;
}

/**
 * The one bounded retry loop: runs `fn` (attempt 0, 1, …) until it returns a value; AGAIN or a
 * retryable error waits per `backoff` and tries again, up to `attempts` tries. Loops with their
 * own failure taxonomy (ingest's withRetry, the settle loop) use lib/backoff.ts directly.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T | typeof AGAIN>, o: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const last = o.attempts !== undefined && attempt + 1 >= o.attempts;
    try {
      const r = await fn(attempt);
      if (r !== AGAIN) return r;
      if (last) throw o.exhausted?.() ?? new Error(`gave up after ${attempt + 1} tries`);
    } catch (err) {
      if (last || !o.retryable?.(err)) throw err;
    }
    await sleep(backoffDelay(attempt, o.backoff));
  }
}
