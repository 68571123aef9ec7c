import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Keypair } from '@solana/web3.js';
import type { Logger } from 'pino';
import type { Started } from '../lib/component.js';
import { createChainClient, type ChainClient } from '../chain/client.js';
import { loadOrCreateKeypair } from '../chain/keys.js';
import type { LocalLedger } from '../chain/ledger/index.js';
import type { Config } from '../config/load.js';

export interface ChainConnection extends Started {
  client: ChainClient;
  /** fee payer and mint authority */
  payer: Keypair;
  rpcUrl: string;
  cluster: string;
  /** the embedded ledger when this process started it (and so stops it) */
  ledger: LocalLedger | null;
}

type ChainConfig = Pick<Config, 'DATA_DIR' | 'SOLANA_RPC_URL' | 'SOLANA_CLUSTER' | 'LEDGER_PORT' | 'MINT_AUTHORITY_KEYPAIR'>;

function keypairPath(config: ChainConfig): string {
  return config.MINT_AUTHORITY_KEYPAIR ?? join(config.DATA_DIR, 'keys', 'mint-authority.json');
}

function ledgerStateFile(config: ChainConfig): string {
  return join(config.DATA_DIR, 'ledger', 'ledger.bin');
}

async function ledgerAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getHealth' }),
      signal: AbortSignal.timeout(1_000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * The one chain path: SOLANA_RPC_URL when configured, else the embedded LiteSVM ledger on
 * 127.0.0.1:LEDGER_PORT with its state under DATA_DIR/ledger. Either way everything goes through
 * the production JSON-RPC client. The daemon always starts the ledger ('start'); CLI commands use
 * the daemon's ledger when it answers and start one on the same state otherwise ('reuse').
 */
export async function connectChain(o: {
  config: ChainConfig;
  logger: Logger;
  ledger: 'start' | 'reuse';
  onRpcError?: (method: string) => void;
}): Promise<ChainConnection> {
  const { config } = o;
  const log = o.logger.child({ component: 'chain-connect' });
  const path = keypairPath(config);
  const payer = await loadOrCreateKeypair(path);
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) log.warn({ path, mode: mode.toString(8) }, 'mint authority keypair file is readable by others; chmod 600 it');

  let ledger: LocalLedger | null = null;
  let rpcUrl = config.SOLANA_RPC_URL;
  if (!rpcUrl) {
    const local = `http://127.0.0.1:${config.LEDGER_PORT}`;
    if (o.ledger === 'reuse' && config.LEDGER_PORT !== 0 && (await ledgerAnswers(local))) {
      rpcUrl = local;
    } else {
      // Loaded only here: LiteSVM and @solana/kit are a large share of the daemon's memory, and
      // a gateway on SOLANA_RPC_URL never needs them.
      const { createLocalLedger } = await import('../chain/ledger/index.js');
      ledger = createLocalLedger({ host: '127.0.0.1', port: config.LEDGER_PORT, stateFile: ledgerStateFile(config), logger: o.logger });
      await ledger.start();
      rpcUrl = ledger.url;
    }
  }
  const isLocal = !config.SOLANA_RPC_URL || config.SOLANA_CLUSTER === 'localnet';
  const client = createChainClient({ rpcUrl, payer, logger: o.logger, onRpcError: o.onRpcError, isLocal });
  log.info({ rpcUrl, cluster: config.SOLANA_CLUSTER, authority: payer.publicKey.toBase58(), embedded: ledger !== null }, 'chain connected');
  return {
    client,
    payer,
    rpcUrl,
    cluster: config.SOLANA_CLUSTER,
    ledger,
    stop: async () => {
      await ledger?.stop();
    },
  };
}
