import { Keypair } from '@solana/web3.js';
import { describe, expect, it } from 'vitest';
import { U64_MAX } from '../../../src/domain/kwh.js';
import { chunkWallets, planBatch } from '../../../src/mint/plan.js';

const w = () => Keypair.generate().publicKey.toBase58();

describe('planBatch', () => {
  it('sums per wallet in exact base units, in order of first appearance', () => {
    const [a, b] = [w(), w()];
    const plan = planBatch([
      { id: '1', wallet_address: a, kwh_amount: '0.100000000' },
      { id: '2', wallet_address: b, kwh_amount: '0.000000001' },
      { id: '3', wallet_address: a, kwh_amount: '0.2' },
      { id: '4', wallet_address: a, kwh_amount: '12345.678901234' },
    ]);
    expect(plan.skipped).toEqual([]);
    expect(plan.wallets).toEqual([
      { wallet: a, baseUnits: 12_345_978_901_234n, readingIds: ['1', '3', '4'] },
      { wallet: b, baseUnits: 1n, readingIds: ['2'] },
    ]);
  });

  it('leaves out readings it cannot mint, saying why, without dropping the rest', () => {
    const a = w();
    const plan = planBatch([
      { id: '1', wallet_address: 'not-a-key', kwh_amount: '1' },
      { id: '2', wallet_address: a, kwh_amount: '18446744073.709551615' }, // exactly u64::MAX
      { id: '3', wallet_address: a, kwh_amount: '0.000000001' }, // one more would overflow
      { id: '4', wallet_address: w(), kwh_amount: '18446744073.709551616' }, // alone too big
    ]);
    expect(plan.wallets).toEqual([{ wallet: a, baseUnits: U64_MAX, readingIds: ['2'] }]);
    expect(plan.skipped.map((s) => s.id)).toEqual(['1', '3', '4']);
    expect(plan.skipped[0]!.reason).toMatch(/public key/);
  });

  it('chunks wallets into signing groups', () => {
    const plan = planBatch(Array.from({ length: 5 }, (_, i) => ({ id: String(i), wallet_address: w(), kwh_amount: '1' })));
    expect(chunkWallets(plan.wallets, 2).map((g) => g.length)).toEqual([2, 2, 1]);
  });
});
