/**
 * A short-lived cache with single flight, for public endpoints that reach the chain: however many
 * callers ask at once, one RPC call is in flight per key, and its answer is reused for `ttlMs`.
 * Failures are not cached (the next caller tries again), but callers waiting on a failing flight
 * share its failure instead of each starting their own.
 */
export function singleFlightCache<T>(ttlMs: number, load: (key: string) => Promise<T>, maxKeys = 1000) {
  const done = new Map<string, { value: T; until: number }>();
  const flying = new Map<string, Promise<T>>();
  const get = (key: string): Promise<T> => {
    const hit = done.get(key);
    if (hit && hit.until > Date.now()) return Promise.resolve(hit.value);
    const inFlight = flying.get(key);
    if (inFlight) return inFlight;
    const p = load(key)
      .then((value) => {
        // Bounded: public callers choose the keys (certificate ids), so never grow without limit.
        if (done.size >= maxKeys) done.delete(done.keys().next().value as string);
        done.set(key, { value, until: Date.now() + ttlMs });
        return value;
      })
      .finally(() => flying.delete(key));
    flying.set(key, p);
    return p;
  };
  /** Forget the cached answers (a flight already under way still completes and is kept). */
  const clear = () => done.clear();
  return Object.assign(get, { clear });
}
