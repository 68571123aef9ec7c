import type { ChainClient } from '../chain/client.js';
import { isValidPublicKey } from '../domain/keys.js';
import { DomainError } from '../domain/errors.js';
import { listUnminted } from '../store/mint-readings.js';
import type { Pool } from '../store/pool.js';
import { createBalanceCache, type BalanceCache } from './balance-cache.js';
import type { Minter, RunReport } from './minter.js';
import type { OperatorMintRequest } from './operator.js';
import { MintSetupError } from './token.js';

export interface TokenServiceDeps {
  minter: Pick<Minter, 'run' | 'mintRow' | 'mintReading' | 'operatorMint'>;
  /** chain reads only: balances and the mint's on-chain state */
  chain: Pick<ChainClient, 'getTokenBalance' | 'getMintInfo'>;
  pool: Pool;
  cluster: string;
  /** BALANCE_CACHE_MS > 0: balances served from memory (the minter invalidates what it mints) */
  balances: BalanceCache | null;
  /** OPERATOR_MINT_MAX_TOKENS */
  operatorMintMaxTokens: number;
}

/**
 * BALANCE_CACHE_MS as a balance cache on the minter's mint (null for 0: every request asks the
 * chain). The minter must be told to invalidate what it mints (its onMinted). The cache reads
 * lazily, so the minter may be created after it.
 */
export function tokenBalanceCache(o: { minter: () => Pick<Minter, 'mintRow'>; chain: Pick<ChainClient, 'getTokenBalances'>; maxAgeMs: number }): BalanceCache | null {
  if (o.maxAgeMs <= 0) return null;
  return createBalanceCache({ maxAgeMs: o.maxAgeMs, read: async (wallets) => o.chain.getTokenBalances((await o.minter().mintRow(false)).mint_address, wallets) });
}

/**
 * What the HTTP API needs from minting, as one object main.ts hands to the token routes. A chain
 * outage stays an error (ChainUnavailableError, which the API answers 503 `chain_unavailable`),
 * so no caller can turn an unreachable chain into a balance of 0.
 */
export function createTokenService(deps: TokenServiceDeps) {
  const { minter, chain, balances } = deps;
  const operatorMax = BigInt(deps.operatorMintMaxTokens) * 1_000_000_000n;

  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof MintSetupError) throw new DomainError('mint_not_ready', err.message);
      throw err;
    }
  };

  const validWallet = (w: string) => {
    if (!isValidPublicKey(w)) throw new DomainError('invalid_wallet', `${w} is not a valid Solana public key`);
  };

  return {
    mintReading: (readingId: string, wallet: string) => guard(() => minter.mintReading(readingId, wallet)),
    operatorMint: (req: Omit<OperatorMintRequest, 'maxBaseUnits'>) =>
      guard(async () => {
        validWallet(req.wallet);
        return minter.operatorMint({ ...req, maxBaseUnits: operatorMax });
      }),
    runBatch: (trigger: string): Promise<RunReport> => minter.run(trigger),
    balance: (wallet: string) =>
      guard(async () => {
        validWallet(wallet);
        if (balances) return balances.get(wallet);
        const { mint_address } = await minter.mintRow(false);
        return { baseUnits: await chain.getTokenBalance(mint_address, wallet), at: new Date() };
      }),
    info: () =>
      guard(async () => {
        const row = await minter.mintRow(false);
        const info = await chain.getMintInfo(row.mint_address);
        if (!info) throw new DomainError('mint_not_ready', `mint ${row.mint_address} is not on this chain`);
        return { mint: row.mint_address, decimals: info.decimals, supply: info.supply, mintAuthority: info.mintAuthority, cluster: deps.cluster };
      }),
    unminted: (limit: number, offset: number) => listUnminted(deps.pool, limit, offset),
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
