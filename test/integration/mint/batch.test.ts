import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/metrics/registry.js';
import { auditSupply } from '../../../src/mint/audit.js';
import { startTestMinter, type TestMinter, wallet } from '../../harness/index.js';

// A database and ledger of its own for each test: none depends on what another minted or broke.
let h: TestMinter;
beforeEach(async () => {
  h = await startTestMinter();
});
afterEach(async () => {
  await h?.close();
});

describe('batch minting on the local ledger', () => {
  it('mints exact base units per wallet, marks readings with the signature, and the audit holds', async () => {
    const [a, b, c, d] = [wallet(), wallet(), wallet(), wallet()];
    await h.readings([
      { wallet: a, kwh: '0.000000001' }, // the smallest unit
      { wallet: b, kwh: '12000.000000001' },
      { wallet: b, kwh: '345.678901233' }, // b: 12345.678901234
      { wallet: c, kwh: '0.1' },
      { wallet: c, kwh: '0.2' }, // c: exactly 0.3, the classic float trap
      { wallet: d, kwh: '1000000000.123456789' }, // 10^18 base units and change: far beyond 2^53
    ]);
    const metrics = createMetrics();
    const minter = h.minter({ metrics });
    const rep = await minter.run('test');
    expect(rep.result).toBe('success');
    expect(rep.readings).toBe(6);
    expect(rep.wallets).toBe(4);
    expect(rep.confirmed).toBe(rep.transactions);

    const mint = (await minter.mintRow(false)).mint_address;
    const chain = h.client(metrics);
    expect(await chain.getTokenBalance(mint, a)).toBe(1n);
    expect(await chain.getTokenBalance(mint, b)).toBe(12_345_678_901_234n);
    expect(await chain.getTokenBalance(mint, c)).toBe(300_000_000n);
    expect(await chain.getTokenBalance(mint, d)).toBe(1_000_000_000_123_456_789n);
    expect(await chain.getTokenBalance(mint, wallet())).toBe(0n);

    const rows = await h.db.pool.query<{ minted: boolean; mint_tx_signature: string; status: string; signature: string }>(
      `SELECT m.minted, m.mint_tx_signature, o.status, o.signature FROM meter_readings m JOIN mint_outbox o ON o.id = m.mint_outbox_id`,
    );
    expect(rows.rows).toHaveLength(6);
    for (const r of rows.rows) expect(r).toMatchObject({ minted: true, status: 'confirmed', mint_tx_signature: r.signature });

    const audit = await auditSupply({ pool: h.db.pool, chain, mintAddress: mint, metrics });
    expect(audit).toMatchObject({ ok: true, drift_base_units: '0', wallets_checked: 4, wallet_mismatches: [] });
    expect(audit.supply_base_units).toBe((1n + 12_345_678_901_234n + 300_000_000n + 1_000_000_000_123_456_789n).toString());
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/gridmint_mint_transactions_total\{outcome="confirmed"\} [1-9]/);
    expect(text).toMatch(/gridmint_supply_drift_base_units 0/);
    expect(text).toMatch(/gridmint_mint_runs_total\{result="success"\} 1/);

    // Nothing left: the next run is empty and mints nothing more.
    const again = await minter.run('test');
    expect(again.result).toBe('empty');
    expect((await h.client(metrics).getMintInfo(mint))!.supply.toString()).toBe(audit.supply_base_units);
  });

  it('packs mintTo for existing accounts densely and creates missing accounts idempotently', async () => {
    const wallets = Array.from({ length: 60 }, () => wallet());
    await h.readings(wallets.map((w) => ({ wallet: w, kwh: '1.5' })));
    const minter = h.minter();
    const first = await minter.run('test');
    expect(first.result).toBe('success');
    expect(first.wallets).toBe(60);
    // New accounts: create-idempotent + mintTo pairs, ~10 wallets per transaction.
    expect(Math.max(...first.walletsPerTx)).toBeGreaterThanOrEqual(9);
    await h.readings(wallets.map((w) => ({ wallet: w, kwh: '2' })));
    const second = await minter.run('test');
    expect(second.result).toBe('success');
    // Existing accounts: mintTo only, ~22 per transaction.
    expect(Math.max(...second.walletsPerTx)).toBeGreaterThanOrEqual(20);
    expect(second.transactions).toBeLessThanOrEqual(3);
    const mint = (await minter.mintRow(false)).mint_address;
    const balances = await h.client(createMetrics()).getTokenBalances(mint, wallets);
    for (const w of wallets) expect(balances.get(w)).toBe(3_500_000_000n);
  });

  it('the audit reports drift when the records and the chain disagree', async () => {
    await h.readings([{ wallet: wallet(), kwh: '1' }, { wallet: wallet(), kwh: '2.5' }]);
    const minter = h.minter();
    expect((await minter.run('test')).result).toBe('success');
    const mint = (await minter.mintRow(false)).mint_address;
    await h.db.pool.query(`UPDATE meter_readings SET kwh_amount = kwh_amount + 0.000000001 WHERE id = (SELECT min(id) FROM meter_readings WHERE minted)`);
    const metrics = createMetrics();
    const audit = await auditSupply({ pool: h.db.pool, chain: h.client(metrics), mintAddress: mint, metrics });
    expect(audit.ok).toBe(false);
    expect(audit.drift_base_units).toBe('-1');
    expect(audit.wallet_mismatches).toHaveLength(1);
    expect(await metrics.registry.metrics()).toMatch(/gridmint_supply_drift_base_units -1/);
  });
});
