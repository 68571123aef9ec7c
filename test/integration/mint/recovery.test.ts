import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/metrics/registry.js';
import { auditSupply } from '../../../src/mint/audit.js';
import type { MintStep } from '../../../src/mint/deps.js';
import { pgTypes } from '../../../src/store/pool.js';
import { startTestMinter, type TestMinter, wallet } from '../../harness/index.js';

let h: TestMinter;
let mint: string;
beforeAll(async () => {
  h = await startTestMinter();
  mint = (await h.minter().ensureMint()).mint_address;
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.ledger.setFault(null));

class Crash extends Error {}
const crashAt = (at: MintStep) => ({
  step: (s: MintStep) => {
    if (s === at) throw new Crash(`simulated crash at ${s}`);
  },
});

/** Every reading minted exactly once, nothing in flight, supply == recorded, balances match. */
async function expectAllMintedOnce() {
  const c = await h.counts();
  expect(c).toMatchObject({ unminted: 0, claimed: 0, unresolved: 0 });
  const audit = await auditSupply({ pool: h.db.pool, chain: h.client(createMetrics()), mintAddress: mint });
  expect(audit.wallet_mismatches).toEqual([]);
  expect(audit).toMatchObject({ ok: true, drift_base_units: '0', inconsistent_readings: 0 });
  return audit;
}

async function outboxStatuses(): Promise<string[]> {
  const r = await h.db.pool.query<{ status: string }>('SELECT status FROM mint_outbox ORDER BY id');
  return r.rows.map((x) => x.status);
}

describe('crash safety: a fresh minter reconciles what a crashed one left', () => {
  for (const step of ['recorded', 'sent', 'finalized'] as const) {
    it(`crash after ${step}: minted exactly once, by the recorded transaction`, async () => {
      const before = (await outboxStatuses()).length;
      const w = [wallet(), wallet(), wallet()];
      await h.readings(w.flatMap((x) => [{ wallet: x, kwh: '1.000000001' }, { wallet: x, kwh: '2.5' }]));
      const crashed = await h.minter({ hooks: crashAt(step) }).run('test');
      expect(crashed.result).toBe('failed');
      expect(crashed.error).toMatch(/simulated crash/);
      const c = await h.counts();
      expect(c.unresolved).toBe(1);
      expect(c.claimed).toBe(6); // held by the outbox row: no one else may build for them

      const restarted = h.minter();
      const rep = await restarted.run('test');
      expect(rep.result).toBe('success');
      expect(rep.transactions).toBe(0); // nothing rebuilt: the recorded transaction was resent or found
      expect(rep.reconciled).toBe(1);
      expect((await outboxStatuses()).slice(before)).toEqual(['confirmed']);
      await expectAllMintedOnce();
      for (const x of w) expect(await h.client(createMetrics()).getTokenBalance(mint, x)).toBe(3_500_000_001n);
    });
  }

  it('blockhash expired before the recorded transaction was ever sent: released and rebuilt once', async () => {
    const before = (await outboxStatuses()).length;
    await h.readings([{ wallet: wallet(), kwh: '7' }]);
    await h.minter({ hooks: crashAt('recorded') }).run('test');
    await h.ledger.advanceBlocks(200);
    const rep = await h.minter().run('test');
    expect(rep.result).toBe('success');
    expect(rep.reconciled).toBe(1);
    expect((await outboxStatuses()).slice(before)).toEqual(['expired', 'confirmed']);
    await expectAllMintedOnce();
  });

  it('survives a ledger restart between send and confirmation', async () => {
    await h.readings([{ wallet: wallet(), kwh: '0.5' }]);
    await h.minter({ hooks: crashAt('sent') }).run('test');
    await h.restartLedger();
    await h.minter().run('test');
    await expectAllMintedOnce();
  });
});

describe('an unreliable ledger leaves readings unminted and a later run mints them', () => {
  it('dropped transactions stay claimed until their blockhash expires, then are rebuilt', async () => {
    const before = (await outboxStatuses()).length;
    await h.readings([{ wallet: wallet(), kwh: '3' }, { wallet: wallet(), kwh: '4' }]);
    h.ledger.setFault((method) => (method === 'sendTransaction' ? 'drop' : undefined));
    const dropped = await h.minter({ settleDeadlineMs: 2_000 }).run('test');
    expect(dropped.result).toBe('failed');
    expect(dropped.unresolved).toBe(1);
    expect((await h.counts()).minted).toBeGreaterThan(0); // earlier tests' readings
    expect((await h.counts()).unminted).toBe(2);
    h.ledger.setFault(null);
    await h.ledger.advanceBlocks(200);
    const rep = await h.minter().run('test');
    expect(rep.result).toBe('success');
    expect((await outboxStatuses()).slice(before)).toEqual(['expired', 'confirmed']);
    await expectAllMintedOnce();
  });

  it('RPC errors before recording leave nothing claimed; errors are counted per method', async () => {
    await h.readings([{ wallet: wallet(), kwh: '1' }]);
    const metrics = createMetrics();
    h.ledger.setFault(() => 'error');
    const rep = await h.minter({ metrics }).run('test');
    expect(rep.result).toBe('failed');
    expect(await h.counts()).toMatchObject({ unminted: 1, claimed: 0, unresolved: 0 });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/gridmint_chain_rpc_errors_total\{method="[A-Za-z]+"\} [1-9]/);
    expect(text).toMatch(/gridmint_mint_runs_total\{result="failed"\} 1/);
    h.ledger.setFault(null);
    expect((await h.minter().run('test')).result).toBe('success');
    await expectAllMintedOnce();
  });

  it('send errors and hung status polls: outcome unknown, resolved later without a double mint', async () => {
    const before = (await outboxStatuses()).length;
    await h.readings([{ wallet: wallet(), kwh: '5' }]);
    // The send "fails" (503) but we cannot know it did not go through; then polls hang.
    h.ledger.setFault((method) => (method === 'sendTransaction' ? 'error' : method === 'getSignatureStatuses' ? 'hang' : undefined));
    const rep = await h.minter({ settleDeadlineMs: 3_000 }).run('test');
    expect(rep.result).toBe('failed');
    expect((await h.counts()).claimed).toBe(1);
    h.ledger.setFault(null);
    const next = await h.minter().run('test');
    // The 503'd send never executed, so the row is re-sent (same bytes, same signature) and lands.
    expect(next.reconciled).toBe(1);
    expect((await outboxStatuses()).slice(before)).toEqual(['confirmed']);
    await expectAllMintedOnce();
  });
});

describe('two minters on one database', () => {
  it('concurrent runs from two instances mint every reading once', async () => {
    const other = new pg.Pool({ connectionString: h.db.url, types: pgTypes, max: 4 });
    try {
      const a = h.minter();
      const b = h.minter({ pool: other });
      let total = 0n;
      for (let round = 0; round < 4; round++) {
        const rows = Array.from({ length: 30 }, (_, i) => ({ wallet: wallet(), kwh: `${round + 1}.${String(i).padStart(9, '0')}` }));
        await h.readings(rows);
        const [ra, rb] = await Promise.all([a.run('a'), b.run('b')]);
        expect([ra.result, rb.result].sort()).toEqual(round === 0 ? ['skipped', 'success'] : expect.arrayContaining(['success']));
        total += 30n;
        await expect(h.minter().run('sweep')).resolves.toMatchObject({ result: 'empty' });
      }
      const audit = await expectAllMintedOnce();
      expect(audit.wallets_checked).toBeGreaterThanOrEqual(Number(total));
    } finally {
      await other.end();
    }
  });

  it('a run does not overlap the previous one in the same process', async () => {
    await h.readings([{ wallet: wallet(), kwh: '1' }]);
    const m = h.minter();
    const [x, y] = await Promise.all([m.run('one'), m.run('two')]);
    expect([x.result, y.result].sort()).toEqual(['skipped', 'success']);
    await expectAllMintedOnce();
  });
});
