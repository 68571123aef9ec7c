import type { Keypair } from '@solana/web3.js';
import type { Logger } from 'pino';
import type { ChainClient } from '../chain/client.js';
import type { Metrics } from '../metrics/registry.js';
import type { Pool } from '../store/pool.js';
import type { LookupTables } from './lookup-tables.js';

/**
 * What every step of minting (build, record, send, settle, audit, single and operator mints) is
 * handed: one object, built by the minter (`createMinter`) and passed down explicitly. Nothing
 * outside mint/ sees it; the API gets the token service instead.
 */
export interface MintDeps {
  pool: Pool;
  chain: ChainClient;
  metrics: Metrics;
  logger: Logger;
  hooks?: MintHooks;
  /** set by stop(): loops give up waiting and leave rows for the next reconcile */
  isStopping?: () => boolean;
  /** v0 packing through the minter's lookup tables; absent = legacy transactions only */
  lookupTables?: LookupTables | null;
  /** told the wallets of every mint transaction this process confirms (balance cache) */
  onMinted?: (wallets: string[]) => void;
}

/** Points where a test can make the minter "crash" (throw) to prove recovery from each one. */
export type MintStep = 'recorded' | 'sent' | 'finalized' | 'table-create-recorded' | 'table-extend-recorded';
export interface MintHooks {
  step?(step: MintStep, outboxIds: string[]): void | Promise<void>;
}

/**
 * The mint transactions are built for: the recorded mint and the key that signs them. `payer` is
 * always the Keypair (the signer: fee payer and mint authority); where only its address is
 * needed, the chain client offers it as `chain.authority` (a PublicKey).
 */
export interface MintTarget {
  mintAddress: string;
  payer: Keypair;
}
