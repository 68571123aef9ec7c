import { PublicKey } from '@solana/web3.js';
import type { Logger } from 'pino';
import type { ChainClient, MintInfo } from '../chain/client.js';
import { DECIMALS } from '../domain/kwh.js';
import type { Pool } from '../store/pool.js';
import { getTokenMint, recordTokenMint, type TokenMintRow } from '../store/token-mint.js';

/** The configured mint cannot be used; minting stays off until an operator fixes it. */
export class MintSetupError extends Error {
  override name = 'MintSetupError';
}

/** Lamports the local-ledger payer is topped up to (ATA rent ≈ 0.002 SOL per new wallet). */
export const LOCAL_FUNDING_LAMPORTS = 1_000_000_000_000n;

function checkUsable(info: MintInfo | null, address: string, authority: string): MintInfo {
  if (!info) throw new MintSetupError(`mint ${address} does not exist on this chain (ledger state lost, or wrong SOLANA_RPC_URL?)`);
  if (info.decimals !== DECIMALS) throw new MintSetupError(`mint ${address} has ${info.decimals} decimals; gridmint needs ${DECIMALS}`);
  if (info.mintAuthority !== authority) {
    throw new MintSetupError(`mint ${address} has mint authority ${info.mintAuthority ?? 'none'}, not this gateway's key ${authority}`);
  }
  return info;
}

/**
 * The mint this database mints on, verified against the chain. With `create`, a database that
 * has none records MINT_ADDRESS, or (no MINT_ADDRESS) a mint newly created with decimals 9.
 * Call `create` only under the minter lock, so two gateways cannot each create one.
 */
export async function resolveMint(o: {
  pool: Pool;
  chain: ChainClient;
  configuredMint: string | null;
  cluster: string;
  logger: Logger;
  create: boolean;
}): Promise<TokenMintRow> {
  const log = o.logger.child({ component: 'token' });
  const authority = o.chain.authority.toBase58();
  const genesis = await o.chain.getGenesisHash();
  const recorded = await getTokenMint(o.pool);
  if (recorded) {
    if (o.configuredMint && o.configuredMint !== recorded.mint_address) {
      throw new MintSetupError(`MINT_ADDRESS ${o.configuredMint} differs from the mint recorded in the database (${recorded.mint_address})`);
    }
    if (recorded.rpc_genesis_hash && recorded.rpc_genesis_hash !== genesis) {
      throw new MintSetupError(`the database's mint was recorded on cluster ${recorded.cluster} (genesis ${recorded.rpc_genesis_hash}); this RPC serves genesis ${genesis}`);
    }
    checkUsable(await o.chain.getMintInfo(recorded.mint_address), recorded.mint_address, authority);
    return recorded;
  }
  if (!o.create) throw new MintSetupError('no mint recorded yet: run `gridmint token init` (or start the daemon once)');
  if (o.chain.isLocal) await o.chain.ensureFunded(LOCAL_FUNDING_LAMPORTS);
  let address = o.configuredMint;
  if (address) {
    new PublicKey(address);
    checkUsable(await o.chain.getMintInfo(address), address, authority);
  } else {
    address = await o.chain.createMint(DECIMALS);
  }
  const row = await recordTokenMint(o.pool, { mintAddress: address, cluster: o.cluster, genesisHash: genesis, mintAuthority: authority });
  log.info({ mint: row.mint_address, cluster: row.cluster, authority }, row.mint_address === address ? 'mint recorded' : 'another process recorded a mint first');
  return row;
}
