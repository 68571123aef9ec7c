import { Keypair } from '@solana/web3.js';
import { createChainClient, type ChainClient } from '../../src/chain/client.js';
import { createLocalLedger, type LocalLedger } from '../../src/chain/ledger/index.js';
import { testLogger } from './log.js';

export interface TestLedger {
  ledger: LocalLedger;
  /** the production chain client, talking to the ledger over HTTP, its payer funded */
  client: ChainClient;
  stop(): Promise<void>;
}

/** An in-memory local ledger (the real SPL programs) on a loopback port, for tests that need a chain but no minter. */
export async function startTestLedger(opts: { fundLamports?: bigint } = {}): Promise<TestLedger> {
  const ledger = createLocalLedger({ port: 0, logger: testLogger });
  await ledger.start();
  const client = createChainClient({ rpcUrl: ledger.url, payer: Keypair.generate(), logger: testLogger, isLocal: true });
  await client.ensureFunded(opts.fundLamports ?? 10_000_000_000n);
  return { ledger, client, stop: () => ledger.stop() };
}
