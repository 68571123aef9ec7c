import type { ChainClient } from '../chain/client.js';
import { numericToBaseUnits } from '../domain/kwh.js';
import type { Metrics } from '../metrics/registry.js';
import { recordedTotals, walletMintedKwh } from '../store/mint-audit.js';
import { listOperatorMints, type AuditedOperatorMint } from '../store/operator-mints.js';
import type { Pool } from '../store/pool.js';
import type { MintDeps } from './deps.js';

export interface SupplyCheck {
  supply: bigint;
  recorded: bigint;
  /** on-chain supply minus recorded total; 0 when the invariant holds */
  drift: bigint;
  unresolvedOutbox: number;
}

/** On-chain supply next to the database's recorded totals, all in exact base units. */
async function supplyFigures(pool: Pool, chain: ChainClient, mintAddress: string) {
  const info = await chain.getMintInfo(mintAddress);
  const totals = await recordedTotals(pool);
  const readings = numericToBaseUnits(totals.readingsKwh);
  const operator = numericToBaseUnits(totals.operatorKwh);
  const supply = info?.supply ?? 0n;
  return { info, totals, readings, operator, recorded: readings + operator, supply, drift: supply - (readings + operator) };
}

/** supply == Σ minted readings × 10^9 + Σ confirmed operator mints, exactly; sets the drift gauge. */
export async function supplyCheck(d: Pick<MintDeps, 'pool' | 'chain' | 'metrics' | 'logger'>, mintAddress: string): Promise<SupplyCheck> {
  const { totals: t, recorded, supply, drift } = await supplyFigures(d.pool, d.chain, mintAddress);
  d.metrics.supplyDrift.set(Number(drift));
  if (drift !== 0n && t.unresolvedOutbox === 0) {
    d.logger.error({ mint: mintAddress, supply: supply.toString(), recorded: recorded.toString(), drift: drift.toString() }, 'token supply does not match the minted readings');
  }
  return { supply, recorded, drift, unresolvedOutbox: t.unresolvedOutbox };
}

export interface WalletMismatch {
  wallet: string;
  chain_base_units: string;
  recorded_base_units: string;
}

export interface AuditReport {
  mint: string;
  supply_base_units: string;
  recorded_readings_base_units: string;
  recorded_operator_base_units: string;
  recorded_total_base_units: string;
  confirmed_outbox_base_units: string;
  drift_base_units: string;
  unresolved_outbox: number;
  inconsistent_readings: number;
  wallets_checked: number;
  wallet_mismatches: WalletMismatch[];
  /** every operator mint ever recorded, with its idempotency key, admin and reason */
  operator_mints: AuditedOperatorMint[];
  /** the named checks that failed (empty when ok); see AUDIT_CHECKS */
  failed_checks: AuditCheck[];
  ok: boolean;
}

/** What the audit checks, by the name it reports when one fails. */
export const AUDIT_CHECKS = {
  mint_exists: 'the recorded mint exists on this chain',
  supply_matches_records: 'on-chain supply = minted readings + confirmed operator mints, in base units',
  outbox_matches_records: 'confirmed outbox transactions add up to the same total',
  minted_readings_confirmed: 'every minted reading points at a confirmed outbox transaction',
  minted_reading_signatures: "every minted reading records its confirmed transaction's signature",
  wallet_balances: "each wallet's on-chain balance = its recorded total",
} as const;
export type AuditCheck = keyof typeof AUDIT_CHECKS;

/**
 * The full invariant: the supply equals the recorded total, the confirmed outbox rows add up to
 * the same total, every minted reading points at a confirmed transaction with its signature, and
 * each wallet's balance equals its recorded total. Because balances are non-negative and sum to
 * the supply, matching every recorded wallet also proves no other account holds tokens.
 */
export async function auditSupply(o: { pool: Pool; chain: ChainClient; metrics?: Metrics; mintAddress: string }): Promise<AuditReport> {
  const { info, totals: t, readings, operator, recorded, supply, drift } = await supplyFigures(o.pool, o.chain, o.mintAddress);
  const perWallet = await walletMintedKwh(o.pool);
  const wallets = [...perWallet.keys()];
  const balances = await o.chain.getTokenBalances(o.mintAddress, wallets);
  const mismatches: WalletMismatch[] = [];
  for (const w of wallets) {
    const want = numericToBaseUnits(perWallet.get(w)!);
    const have = balances.get(w) ?? 0n;
    if (want !== have) mismatches.push({ wallet: w, chain_base_units: have.toString(), recorded_base_units: want.toString() });
  }
  o.metrics?.supplyDrift.set(Number(drift));
  const failed: AuditCheck[] = [];
  if (info === null) failed.push('mint_exists');
  if (drift !== 0n) failed.push('supply_matches_records');
  if (BigInt(t.confirmedOutboxBaseUnits) !== recorded) failed.push('outbox_matches_records');
  if (t.unconfirmedReadings > 0) failed.push('minted_readings_confirmed');
  if (t.signatureMismatches > 0) failed.push('minted_reading_signatures');
  if (mismatches.length > 0) failed.push('wallet_balances');
  return {
    mint: o.mintAddress,
    supply_base_units: supply.toString(),
    recorded_readings_base_units: readings.toString(),
    recorded_operator_base_units: operator.toString(),
    recorded_total_base_units: recorded.toString(),
    confirmed_outbox_base_units: t.confirmedOutboxBaseUnits,
    drift_base_units: drift.toString(),
    unresolved_outbox: t.unresolvedOutbox,
    inconsistent_readings: t.inconsistentReadings,
    wallets_checked: wallets.length,
    wallet_mismatches: mismatches,
    operator_mints: await listOperatorMints(o.pool),
    failed_checks: failed,
    ok: failed.length === 0,
  };
}
