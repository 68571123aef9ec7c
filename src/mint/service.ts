import { PublicKey, type Keypair } from '@solana/web3.js';
import { DomainError } from '../domain/errors.js';
import { listUnminted } from '../store/mint-readings.js';
import { createBalanceCache } from './balance-cache.js';
import type { Minter, RunReport } from './minter.js';
import { operatorMint, type OperatorMintRequest } from './operator.js';
import { mintOneReading } from './single.js';
import { MintSetupError } from './token.js';

/**
 * What the HTTP API needs from minting, as one object main.ts hands to the token routes. A chain
 * outage stays an error (ChainUnavailableError, which the API answers 503 `chain_unavailable`),
 * so no caller can turn an unreachable chain into a balance of 0.
 */
export function createTokenService(minter: Minter, payer: Keypair, cluster: string, opts: { balanceCacheMs?: number; operatorMintMaxTokens?: number } = {}) {
  const d = minter.deps;
  const operatorMax = BigInt(opts.operatorMintMaxTokens ?? 1000) * 1_000_000_000n;
  const target = async () => ({ mintAddress: (await minter.mintRow(false)).mint_address, payer });
  const cacheMs = opts.balanceCacheMs ?? 0;
  const balances = cacheMs > 0
    ? createBalanceCache({ maxAgeMs: cacheMs, read: async (wallets) => d.chain.getTokenBalances((await target()).mintAddress, wallets) })
    : null;
  // Every mint this gateway confirms drops its wallets' cached balances (settle calls this).
  if (balances) d.onMinted = (wallets) => balances.invalidate(wallets);

  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof MintSetupError) throw new DomainError('mint_not_ready', err.message);
      throw err;
    }
  };

  const validWallet = (w: string) => {
    try {
      if (new PublicKey(w).toBase58() === w) return;
    } catch {
      /* falls through */
    }
    throw new DomainError('invalid_wallet', `${w} is not a valid Solana public key`);
  };

  return {
    mintReading: (readingId: string, wallet: string) => guard(async () => mintOneReading(d, await target(), readingId, wallet)),
    operatorMint: (req: Omit<OperatorMintRequest, 'maxBaseUnits'>) =>
      guard(async () => {
        validWallet(req.wallet);
        return operatorMint(d, await target(), { ...req, maxBaseUnits: operatorMax });
      }),
    runBatch: (trigger: string): Promise<RunReport> => minter.run(trigger),
    balance: (wallet: string) =>
      guard(async () => {
        validWallet(wallet);
        if (balances) return balances.get(wallet);
        const { mintAddress } = await target();
        return { baseUnits: await d.chain.getTokenBalance(mintAddress, wallet), at: new Date() };
      }),
    info: () =>
      guard(async () => {
        const row = await minter.mintRow(false);
        const info = await d.chain.getMintInfo(row.mint_address);
        if (!info) throw new DomainError('mint_not_ready', `mint ${row.mint_address} is not on this chain`);
        return { mint: row.mint_address, decimals: info.decimals, supply: info.supply, mintAuthority: info.mintAuthority, cluster };
      }),
    unminted: (limit: number, offset: number) => listUnminted(d.pool, limit, offset),
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
