import type pg from 'pg';

/** The mint this database mints on, recorded by `token init` or the first start. */
export interface TokenMintRow {
  mint_address: string;
  cluster: string;
  rpc_genesis_hash: string | null;
  decimals: number;
  mint_authority: string;
  created_at: Date;
}

export async function getTokenMint(db: pg.Pool | pg.PoolClient): Promise<TokenMintRow | null> {
  const r = await db.query<TokenMintRow>(
    'SELECT mint_address, cluster, rpc_genesis_hash, decimals, mint_authority, created_at FROM token_mint',
  );
  return r.rows[0] ?? null;
}

/**
 * Records the mint unless one is recorded already; returns whichever row is recorded afterwards,
 * so two processes initialising at once agree on the first one.
 */
export async function recordTokenMint(
  db: pg.Pool,
  m: { mintAddress: string; cluster: string; genesisHash: string | null; mintAuthority: string },
): Promise<TokenMintRow> {
  await db.query(
    `INSERT INTO token_mint (mint_address, cluster, rpc_genesis_hash, decimals, mint_authority)
     VALUES ($1, $2, $3, 9, $4) ON CONFLICT (singleton) DO NOTHING`,
    [m.mintAddress, m.cluster, m.genesisHash, m.mintAuthority],
  );
  return (await getTokenMint(db))!;
}
