import { isValidPublicKey } from '../domain/keys.js';
import { numericToBaseUnits, U64_MAX } from '../domain/kwh.js';
import type { MintCandidate } from '../store/mint-readings.js';

/** One wallet's share of a batch: the exact sum of its readings, and which readings those are. */
export interface WalletPlan {
  wallet: string;
  baseUnits: bigint;
  readingIds: string[];
}

export interface BatchPlan {
  wallets: WalletPlan[];
  /** readings left out (invalid wallet key, or a sum that would overflow a u64), with why */
  skipped: { id: string; reason: string }[];
}

/**
 * Aggregates readings per wallet in exact base units (NUMERIC string → bigint, never a float).
 * Wallet order is first appearance, i.e. oldest reading first, so lag is worked off in order.
 */
export function planBatch(readings: readonly MintCandidate[]): BatchPlan {
  const byWallet = new Map<string, WalletPlan>();
  const skipped: BatchPlan['skipped'] = [];
  const valid = new Map<string, boolean>();
  for (const r of readings) {
    let ok = valid.get(r.wallet_address);
    if (ok === undefined) valid.set(r.wallet_address, (ok = isValidPublicKey(r.wallet_address)));
    if (!ok) {
      skipped.push({ id: r.id, reason: 'wallet_address is not a valid public key' });
      continue;
    }
    const units = numericToBaseUnits(r.kwh_amount);
    if (units <= 0n) {
      skipped.push({ id: r.id, reason: 'amount is not positive' });
      continue;
    }
    const w = byWallet.get(r.wallet_address) ?? { wallet: r.wallet_address, baseUnits: 0n, readingIds: [] };
    if (w.baseUnits + units > U64_MAX) {
      // Left for a later run: one mintTo carries at most a u64.
      skipped.push({ id: r.id, reason: 'wallet total in this batch would exceed u64' });
      continue;
    }
    byWallet.set(r.wallet_address, w);
    w.baseUnits += units;
    w.readingIds.push(r.id);
  }
  return { wallets: [...byWallet.values()], skipped };
}

/** Splits a plan into groups of at most n wallets (each group gets its own blockhash). */
export function chunkWallets(wallets: readonly WalletPlan[], n: number): WalletPlan[][] {
  const out: WalletPlan[][] = [];
  for (let i = 0; i < wallets.length; i += n) out.push(wallets.slice(i, i + n));
  return out;
}
