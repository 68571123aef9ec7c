import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keypair } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChainClient } from '../../../src/chain/client.js';
import { loadOrCreateKeypair } from '../../../src/chain/keys.js';
import type { Config } from '../../../src/config/load.js';
import { createTestDatabase, startTestGateway, type TestDatabase, testLogger as logger } from '../../harness/index.js';

/**
 * Issue 12 A2: start-up refuses a recorded mint, cluster, authority or decimals that do not
 * match (README "Minting"). One database and one ledger state (DATA_DIR) record a mint; each
 * case then starts a gateway with one thing changed and expects start-up to fail naming it.
 */
let db: TestDatabase;
let dataDir: string;
let recordedMint: string;
let sixDecimalMint: string;
const dirs: string[] = [];

const base = (over: Partial<Config> = {}): Partial<Config> => ({ MINT_ENABLED: false, SOLANA_CLUSTER: 'localnet', DATA_DIR: dataDir, ...over });
const start = (over: Partial<Config> = {}) => startTestGateway(base(over), { db });

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gridmint-refuse-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = tempDir();
  const gw = await start();
  try {
    recordedMint = (await gw.gateway.app.inject({ method: 'GET', url: '/api/tokens/info' })).json().mint_address;
    // A second mint on the same ledger, same authority, but 6 decimals.
    const payer = await loadOrCreateKeypair(join(dataDir, 'keys', 'mint-authority.json'));
    const chain = createChainClient({ rpcUrl: gw.gateway.urls.ledger!, payer, logger, isLocal: true });
    sixDecimalMint = await chain.createMint(6);
  } finally {
    await gw.stop();
  }
}, 120_000);
afterAll(async () => {
  await db?.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('start-up refuses a mint setup that does not match the records', { timeout: 60_000 }, () => {
  it('starts on the recorded mint, cluster, authority and decimals (control)', async () => {
    const gw = await start();
    const info = (await gw.gateway.app.inject({ method: 'GET', url: '/api/tokens/info' })).json();
    expect(info).toMatchObject({ mint_address: recordedMint, decimals: 9 });
    await gw.stop();
  });

  it('MINT_ADDRESS naming another mint than the recorded one', async () => {
    await expect(start({ MINT_ADDRESS: sixDecimalMint })).rejects.toThrow(`MINT_ADDRESS ${sixDecimalMint} differs from the mint recorded in the database (${recordedMint})`);
  });

  it('another cluster (a fresh ledger: different genesis hash)', async () => {
    await expect(start({ DATA_DIR: tempDir() })).rejects.toThrow(/recorded on cluster localnet \(genesis \S+\); this RPC serves genesis \S+/);
  });

  it("a mint authority key that is not the mint's authority", async () => {
    const other = join(tempDir(), 'other-authority.json');
    await loadOrCreateKeypair(other);
    await expect(start({ MINT_AUTHORITY_KEYPAIR: other })).rejects.toThrow(/has mint authority \S+, not this gateway's key/);
  });

  it('a recorded mint whose decimals are not 9', async () => {
    await db.pool.query('UPDATE token_mint SET mint_address = $1', [sixDecimalMint]);
    try {
      await expect(start()).rejects.toThrow(`mint ${sixDecimalMint} has 6 decimals; gridmint needs 9`);
    } finally {
      await db.pool.query('UPDATE token_mint SET mint_address = $1', [recordedMint]);
    }
  });

  it('a recorded mint that does not exist on this chain', async () => {
    const ghost = Keypair.generate().publicKey.toBase58();
    await db.pool.query('UPDATE token_mint SET mint_address = $1', [ghost]);
    try {
      await expect(start()).rejects.toThrow(`mint ${ghost} does not exist on this chain`);
    } finally {
      await db.pool.query('UPDATE token_mint SET mint_address = $1', [recordedMint]);
    }
  });
});
