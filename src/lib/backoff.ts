/**
 * Exponential backoff, the one policy every retry loop uses: the n-th retry waits
 * initialMs · factor^n, never more than maxMs. Jitter (0..1) spreads the waits of many clients
 * retrying the same outage: a wait is then drawn from [d · (1 − jitter), d], so it never exceeds
 * the cap either. Without jitter the delays are exact and repeatable.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** growth per retry (default 2) */
  factor?: number;
  /** fraction of each delay that may be taken off at random (default 0: none) */
  jitter?: number;
  /** source of randomness for jitter (tests) */
  random?: () => number;
}

/** The wait before retry number `retry` (0 = the first retry). */
export function backoffDelay(retry: number, p: BackoffPolicy): number {
  const n = Math.max(0, Math.floor(retry));
  // factor^n overflows to Infinity for large n; the cap absorbs it.
  const d = Math.min(p.maxMs, p.initialMs * (p.factor ?? 2) ** n);
  const jitter = Math.min(1, Math.max(0, p.jitter ?? 0));
  return jitter === 0 ? d : Math.round(d * (1 - jitter * (p.random ?? Math.random)()));
}

export interface Backoff {
  /** The wait before the next retry; each call moves one step up the curve. */
  next(): number;
  /** After a success: the next failure starts from initialMs again. */
  reset(): void;
}

/** A stateful backoff for loops that retry until they succeed. */
export function createBackoff(p: BackoffPolicy): Backoff {
  let retry = 0;
  return {
    next: () => backoffDelay(retry++, p),
    reset: () => {
      retry = 0;
    },
  };
}
