import { startPeriodic } from '../lib/periodic.js';

/**
 * Token balances served from memory so a balance request does not wait on the chain.
 *
 * - An entry is served while younger than maxAgeMs, always with the time it was read from the
 *   chain (the caller shows its age). Past half its life a request still gets it at once and
 *   starts a background refresh; past maxAgeMs (or never read) the request waits for a read.
 * - Wallets asked for within keepWarmMs are re-read in the background before they age out, so
 *   a wallet polled every few seconds never waits on the chain; others are dropped.
 * - Reads are single-flight per wallet and batched: misses that arrive together share one
 *   getMultipleAccounts call (up to 100 accounts).
 * - invalidate() drops a wallet's entry when this gateway mints to it; a read that was already
 *   in flight then is not stored, so a pre-mint value is never cached after the mint.
 * - A failed read rejects its waiters (ChainUnavailableError → 503): an unreachable chain never
 *   becomes a balance of 0, and nothing older than maxAgeMs is ever served.
 */
export interface Balance {
  baseUnits: bigint;
  /** when the value was read from the chain */
  at: Date;
}

interface Entry extends Balance {
  /** when a request last asked for it */
  usedAt: number;
}

export interface BalanceCacheOptions {
  maxAgeMs: number;
  /** reads balances (0n for a wallet with no token account); throws when the chain cannot answer */
  read: (wallets: string[]) => Promise<Map<string, bigint>>;
  maxEntries?: number;
  /** re-read in the background while asked for within this long (default 15 s; 0 = never) */
  keepWarmMs?: number;
  now?: () => number;
}

interface Flight {
  wallet: string;
  promise: Promise<Balance>;
  resolve: (b: Balance) => void;
  reject: (e: unknown) => void;
  generation: number;
}

const BATCH = 100;

export function createBalanceCache(o: BalanceCacheOptions) {
  const now = o.now ?? Date.now;
  const maxEntries = o.maxEntries ?? 200_000;
  const entries = new Map<string, Entry>();
  const keepWarmMs = o.keepWarmMs ?? 15_000;
  const flights = new Map<string, Flight>();
  const generations = new Map<string, number>();
  let queued: Flight[] = [];
  let scheduled = false;

  const store = (wallet: string, b: Balance) => {
    const usedAt = entries.get(wallet)?.usedAt ?? now();
    entries.delete(wallet); // re-insert: Map order is then oldest-written first, for eviction
    entries.set(wallet, { ...b, usedAt });
    if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
  };

  const flush = () => {
    scheduled = false;
    const batch = queued;
    queued = [];
    for (let i = 0; i < batch.length; i += BATCH) void readBatch(batch.slice(i, i + BATCH));
  };

  const readBatch = async (batch: Flight[]) => {
    const at = new Date(now());
    const done = (f: Flight) => {
      if (flights.get(f.wallet) === f) flights.delete(f.wallet);
    };
    try {
      const got = await o.read([...new Set(batch.map((f) => f.wallet))]);
      for (const f of batch) {
        const b: Balance = { baseUnits: got.get(f.wallet) ?? 0n, at };
        // Not stored if the wallet was minted to since this read was asked for.
        if (f.generation === (generations.get(f.wallet) ?? 0)) store(f.wallet, b);
        done(f);
        f.resolve(b);
      }
    } catch (err) {
      for (const f of batch) {
        done(f);
        f.reject(err);
      }
    }
  };

  const fetch = (wallet: string): Promise<Balance> => {
    const existing = flights.get(wallet);
    if (existing) return existing.promise;
    let resolve!: (b: Balance) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<Balance>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => {}); // background refreshes have no waiter
    const flight: Flight = { wallet, promise, resolve, reject, generation: generations.get(wallet) ?? 0 };
    flights.set(wallet, flight);
    queued.push(flight);
    if (queued.length >= BATCH) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    return promise;
  };

  /** Re-reads entries past half their life that were asked for recently; drops the others. */
  const keepWarm = () => {
    const t = now();
    for (const [w, e] of entries) {
      if (t - e.usedAt > keepWarmMs) entries.delete(w);
      else if (t - e.at.getTime() >= o.maxAgeMs / 2 && !flights.has(w)) void fetch(w);
    }
  };
  const keepWarmJob = keepWarmMs > 0 ? startPeriodic({ name: 'balance-keep-warm', everyMs: Math.max(50, Math.floor(o.maxAgeMs / 4)), run: keepWarm, runAtStart: false }) : null;

  return {
    async get(wallet: string): Promise<Balance> {
      const e = entries.get(wallet);
      const t = now();
      const age = e ? t - e.at.getTime() : Infinity;
      if (e && age < o.maxAgeMs) {
        e.usedAt = t;
        if (age >= o.maxAgeMs / 2) void fetch(wallet); // refresh ahead
        return { baseUnits: e.baseUnits, at: e.at };
      }
      return fetch(wallet);
    },
    stop: () => {
      void keepWarmJob?.stop();
    },
    invalidate(wallets: readonly string[]): void {
      for (const w of wallets) {
        entries.delete(w);
        generations.set(w, (generations.get(w) ?? 0) + 1);
        flights.delete(w); // later requests start a new read; earlier waiters keep theirs
      }
      if (generations.size > maxEntries) generations.clear();
    },
    size: () => entries.size,
  };
}

export type BalanceCache = ReturnType<typeof createBalanceCache>;
