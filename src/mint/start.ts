import type { Logger } from 'pino';
import type { Started } from '../lib/component.js';
import type { Config } from '../config/load.js';
import type { Metrics } from '../metrics/registry.js';
import type { Pool } from '../store/pool.js';
import type { ChainConnection } from './connect.js';
import { startGaugeRefresh } from './gauges.js';
import { createMinter, type Minter } from './minter.js';
import { createTokenService, tokenBalanceCache, type TokenService } from './service.js';
import type { MintHooks } from './deps.js';
import { scheduleMinting } from './schedule.js';
import { MintSetupError } from './token.js';

type MinterConfig = Pick<Config, 'MINT_ADDRESS' | 'SOLANA_CLUSTER' | 'MINT_MAX_READINGS_PER_RUN'> & Partial<Pick<Config, 'MINT_TX_FORMAT'>>;

export interface Minting extends Started {
  minter: Minter;
  /** what the token routes call */
  tokens: TokenService;
}

/** The minter for this config and chain connection: one mapping, shared by the daemon and the CLI. */
export function createConfiguredMinter(o: {
  config: MinterConfig; pool: Pool; metrics: Metrics; logger: Logger; chain: ChainConnection; hooks?: MintHooks;
  /** told the wallets of each confirmed mint (the balance cache) */
  onMinted?: (wallets: string[]) => void;
}): Minter {
  return createMinter({
    pool: o.pool,
    chain: o.chain.client,
    metrics: o.metrics,
    logger: o.logger,
    payer: o.chain.payer,
    configuredMint: o.config.MINT_ADDRESS,
    cluster: o.config.SOLANA_CLUSTER,
    maxReadingsPerRun: o.config.MINT_MAX_READINGS_PER_RUN,
    txFormat: o.config.MINT_TX_FORMAT ?? 'v0',
    hooks: o.hooks,
    onMinted: o.onMinted,
  });
}

/**
 * The minting feature inside a running gateway: make sure the mint exists (or matches
 * MINT_ADDRESS), reconcile what a crash left in the outbox, then keep the lag gauges fresh and run
 * the batch job on MINT_SCHEDULE. A misconfigured mint refuses start-up; an unreachable chain
 * does not — runs retry and the gauges show it.
 */
export async function startMinting(o: {
  config: Config;
  pool: Pool;
  metrics: Metrics;
  logger: Logger;
  chain: ChainConnection;
  /** test hook: called at each named step of a mint run */
  onStep?: (step: string) => void;
}): Promise<Minting> {
  const { config, chain, metrics } = o;
  const log = o.logger.child({ component: 'mint' });
  // Balances served from memory (BALANCE_CACHE_MS > 0); every mint this gateway confirms drops
  // its wallets' entries.
  const balances = tokenBalanceCache({ minter: () => minter, chain: chain.client, maxAgeMs: config.BALANCE_CACHE_MS });
  const minter = createConfiguredMinter({
    ...o,
    hooks: o.onStep ? { step: o.onStep } : undefined,
    onMinted: balances ? (wallets) => balances.invalidate(wallets) : undefined,
  });
  const tokens = createTokenService({
    minter, chain: chain.client, pool: o.pool, cluster: config.SOLANA_CLUSTER, balances, operatorMintMaxTokens: config.OPERATOR_MINT_MAX_TOKENS,
  });
  try {
    const mint = await minter.ensureMint();
    await minter.reconcile();
    log.info({ mint: mint.mint_address, cluster: mint.cluster }, 'minting ready');
  } catch (err) {
    if (err instanceof MintSetupError) {
      balances?.stop();
      throw err;
    }
    log.error({ err }, 'chain not reachable at start-up; mint runs will retry');
  }
  const gauges = startGaugeRefresh(o.pool, metrics, () => chain.client.getBlockHeight());
  const job = config.MINT_ENABLED ? scheduleMinting(minter, config.MINT_SCHEDULE, o.logger) : null;
  return {
    minter,
    tokens,
    async stop() {
      await gauges.stop();
      await (job ? job.stop() : minter.stop());
      balances?.stop();
    },
  };
}
