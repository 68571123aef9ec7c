import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/metrics/registry.js';
import { deriveAta } from '../../../src/chain/tokens.js';
import { auditSupply } from '../../../src/mint/audit.js';
import { startTestMinter, type TestMinter, wallet } from '../../harness/index.js';

let h: TestMinter;
beforeAll(async () => {
  h = await startTestMinter();
});
afterAll(async () => {
  await h?.close();
});

const ops = async () =>
  (await h.db.pool.query<{ kind: string; status: string; n: string }>(
    'SELECT kind, status, count(*)::text AS n FROM mint_lookup_table_ops GROUP BY kind, status ORDER BY kind, status',
  )).rows.map((r) => `${r.kind}:${r.status}:${r.n}`);
const tableCount = async () => Number((await h.db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM mint_lookup_tables')).rows[0]!.n);

describe('v0 mint transactions through lookup tables', () => {
  const wallets = Array.from({ length: 130 }, () => wallet());

  it('packs 60 mintTo per transaction to existing accounts once they are in a table', async () => {
    await h.readings(wallets.map((w) => ({ wallet: w, kwh: '1.000000001' })));
    const minter = h.minter();
    const first = await minter.run('test'); // creates the token accounts: legacy pairs
    expect(first.result).toBe('success');
    expect(await tableCount()).toBe(0);

    await h.readings(wallets.map((w) => ({ wallet: w, kwh: '2' })));
    const second = await minter.run('test');
    expect(second.result).toBe('success');
    expect(second.wallets).toBe(130);
    expect([...second.walletsPerTx].sort((a, b) => b - a)).toEqual([60, 60, 10]);
    expect(Math.max(...second.instructionsPerTx)).toBe(61); // 60 mintTo + the compute-budget limit
    expect(await tableCount()).toBe(1);
    expect((await ops()).every((o) => o.includes(':confirmed:'))).toBe(true);

    const mint = (await minter.mintRow(false)).mint_address;
    const balances = await h.client(createMetrics()).getTokenBalances(mint, wallets);
    for (const w of wallets) expect(balances.get(w)).toBe(3_000_000_001n);
    const metrics = createMetrics();
    expect((await auditSupply({ pool: h.db.pool, chain: h.client(metrics), mintAddress: mint, metrics })).ok).toBe(true);
  });

  it('the ledger serves the v0 transaction with its loaded addresses', async () => {
    const r = await h.db.pool.query<{ signature: string }>(
      `SELECT o.signature FROM mint_outbox o WHERE o.status = 'confirmed' ORDER BY o.instruction_count DESC LIMIT 1`,
    );
    const chain = h.client(createMetrics());
    await expect(chain.connection.getTransaction(r.rows[0]!.signature)).rejects.toThrow(/maxSupportedTransactionVersion/);
    const tx = await chain.connection.getTransaction(r.rows[0]!.signature, { maxSupportedTransactionVersion: 0 });
    expect(tx?.version).toBe(0);
    expect(tx?.meta?.fee).toBe(5000);
    expect(tx?.meta?.loadedAddresses?.writable).toHaveLength(61); // the mint and 60 token accounts
  });

  it('reuses its tables after a restart and adds new accounts to them', async () => {
    const more = Array.from({ length: 20 }, () => wallet());
    await h.readings(more.map((w) => ({ wallet: w, kwh: '1' })));
    expect((await h.minter().run('test')).result).toBe('success'); // creates their token accounts
    const before = await ops();
    await h.readings([...wallets, ...more].map((w) => ({ wallet: w, kwh: '1' })));
    const rep = await h.minter().run('test'); // a fresh minter, as after a restart
    expect(rep.result).toBe('success');
    expect(await tableCount()).toBe(1);
    expect((await ops()).filter((o) => o.startsWith('create:'))).toEqual(before.filter((o) => o.startsWith('create:')));
    expect(Math.max(...rep.walletsPerTx)).toBe(60);
    expect(rep.transactions).toBe(3); // 150 wallets in 60 + 60 + 30
  });

  it('a crash after an extension is recorded loses no table and no reading', async () => {
    const fresh = Array.from({ length: 30 }, () => wallet());
    await h.readings(fresh.map((w) => ({ wallet: w, kwh: '1' })));
    expect((await h.minter().run('test')).result).toBe('success');
    await h.readings(fresh.map((w) => ({ wallet: w, kwh: '1' })));
    const crashing = h.minter({
      hooks: { step: (s) => { if (s === 'table-extend-recorded') throw new Error('simulated crash'); } },
    });
    const crashed = await crashing.run('test');
    expect(crashed.result).toBe('failed');
    const pending = await h.db.pool.query(`SELECT 1 FROM mint_lookup_table_ops WHERE status IN ('pending', 'sent')`);
    expect(pending.rowCount).toBeGreaterThan(0);

    const rep = await h.minter().run('test');
    expect(rep.result).toBe('success');
    expect((await h.counts()).unminted).toBe(0);
    expect((await h.db.pool.query(`SELECT 1 FROM mint_lookup_table_ops WHERE status IN ('pending', 'sent')`)).rowCount).toBe(0);
    const mint = (await h.minter().mintRow(false)).mint_address;
    const balances = await h.client(createMetrics()).getTokenBalances(mint, fresh);
    for (const w of fresh) expect(balances.get(w)).toBe(2_000_000_000n);
  });

  it('while a fresh extension is not usable yet (same slot), those accounts are minted by legacy transactions', async () => {
    const fresh = Array.from({ length: 30 }, () => wallet());
    await h.readings(fresh.map((w) => ({ wallet: w, kwh: '1' })));
    expect((await h.minter().run('test')).result).toBe('success'); // creates their token accounts
    await h.readings(fresh.map((w) => ({ wallet: w, kwh: '1' })));
    h.ledger.holdSlot(true); // no new block: the extension for these 30 accounts stays inactive
    try {
      const rep = await h.minter().run('test');
      expect(rep.result).toBe('success');
      expect(rep.wallets).toBe(30);
      expect(Math.max(...rep.instructionsPerTx)).toBeLessThanOrEqual(22); // legacy packing
      expect((await h.db.pool.query(`SELECT 1 FROM mint_lookup_table_ops WHERE status = 'confirmed' AND kind = 'extend' AND $1 = ANY(addresses)`, [
        deriveAta((await h.minter().mintRow(false)).mint_address, fresh[0]!).toBase58(),
      ])).rowCount).toBe(1); // recorded and landed, just not usable in this slot
    } finally {
      h.ledger.holdSlot(false);
    }
    await h.readings(fresh.map((w) => ({ wallet: w, kwh: '1' })));
    const next = await h.minter().run('test');
    expect(next.walletsPerTx).toEqual([30]); // one v0 transaction, now that the slot has moved on
    expect(next.instructionsPerTx).toEqual([31]);
  });

  it('legacy mode never uses the tables (the "before" figure)', async () => {
    await h.readings(wallets.map((w) => ({ wallet: w, kwh: '1' })));
    const rep = await h.minter({ txFormat: 'legacy' }).run('test');
    expect(rep.result).toBe('success');
    expect(Math.max(...rep.walletsPerTx)).toBeLessThanOrEqual(22);
    expect(rep.transactions).toBeGreaterThanOrEqual(6);
  });
});

describe('several lookup tables created in one run', () => {
  let t: TestMinter;
  beforeAll(async () => {
    t = await startTestMinter();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('gives each new table a slot of its own (address = authority + slot), so a run that needs three does not fail', async () => {
    const many = Array.from({ length: 600 }, () => wallet());
    await t.readings(many.map((w) => ({ wallet: w, kwh: '1' })));
    expect((await t.minter().run('test')).result).toBe('success'); // creates the 600 token accounts
    await t.readings(many.map((w) => ({ wallet: w, kwh: '1' })));
    // No new slot while the run starts: every create would see the same finalized slot. On the old
    // code the second create was the first one's address again (duplicate key: the run failed).
    t.ledger.holdSlot(true);
    const release = setTimeout(() => t.ledger.holdSlot(false), 1_500);
    try {
      const rep = await t.minter().run('test');
      expect(rep.result).toBe('success');
      expect(rep.wallets).toBe(600);
    } finally {
      clearTimeout(release);
      t.ledger.holdSlot(false);
    }
    const tables = await t.db.pool.query<{ address: string }>('SELECT address FROM mint_lookup_tables');
    expect(tables.rowCount).toBeGreaterThanOrEqual(3); // 600 accounts, at most 256 addresses a table
    const metrics = createMetrics();
    const mint = (await t.minter().mintRow(false)).mint_address;
    expect((await auditSupply({ pool: t.db.pool, chain: t.client(metrics), mintAddress: mint, metrics })).ok).toBe(true);
  }, 120_000);
});
