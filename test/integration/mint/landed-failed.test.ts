import { AuthorityType, createSetAuthorityInstruction } from '@solana/spl-token';
import { Keypair, PublicKey, Transaction } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainClient } from '../../../src/chain/client.js';
import { createMetrics } from '../../../src/metrics/registry.js';
import { auditSupply } from '../../../src/mint/audit.js';
import type { MintStep } from '../../../src/mint/deps.js';
import { startTestMinter, type TestMinter, wallet } from '../../harness/index.js';

/**
 * Issue 12 A2: a recorded transaction that FINALIZES WITH AN ERROR becomes `failed`, its readings
 * are released and rebuilt, and they are minted exactly once by the rebuilt transaction.
 *
 * On a cluster a transaction can pass simulation and still fail on execution when state changes
 * in between. Here the mint authority is moved away after the transaction was recorded, and the
 * recorded bytes are submitted without preflight, so the SPL Token program executes and fails them.
 */
let h: TestMinter;
let mint: string;
let chain: ChainClient;
beforeAll(async () => {
  h = await startTestMinter();
  mint = (await h.minter().ensureMint()).mint_address;
  chain = h.client(createMetrics());
});
afterAll(async () => {
  await h?.close();
});

class Crash extends Error {}
const crashAt = (at: MintStep) => ({
  step: (s: MintStep) => {
    if (s === at) throw new Crash(`simulated crash at ${s}`);
  },
});

/** Moves the mint authority from `from` to `to` (the gateway's payer pays the fee). */
async function setMintAuthority(from: Keypair, to: PublicKey): Promise<void> {
  const { blockhash, lastValidBlockHeight } = await chain.getLatestBlockhash();
  const tx = new Transaction({ feePayer: h.payer.publicKey, blockhash, lastValidBlockHeight })
    .add(createSetAuthorityInstruction(new PublicKey(mint), from.publicKey, AuthorityType.MintTokens, to));
  tx.sign(...(from.publicKey.equals(h.payer.publicKey) ? [h.payer] : [h.payer, from]));
  const sig = await chain.sendRawTransaction(tx.serialize());
  expect(await chain.waitForSignature(sig, lastValidBlockHeight, { pollMs: 20 })).toMatchObject({ state: 'finalized' });
}

describe('a mint transaction that lands with an error', () => {
  it('is marked failed, its readings released, rebuilt and minted exactly once', { timeout: 60_000 }, async () => {
    const owners = [wallet(), wallet()];
    const ids = await h.readings([{ wallet: owners[0]!, kwh: '4' }, { wallet: owners[1]!, kwh: '0.25' }, { wallet: owners[0]!, kwh: '0.000000001' }]);
    const crashed = await h.minter({ hooks: crashAt('recorded') }).run('test');
    expect(crashed.result).toBe('failed');
    const row = await h.db.pool.query<{ id: string; signature: string; tx_bytes: Buffer }>("SELECT id, signature, tx_bytes FROM mint_outbox WHERE status = 'pending'");
    expect(row.rows).toHaveLength(1);
    const recorded = row.rows[0]!;

    const elsewhere = Keypair.generate();
    await setMintAuthority(h.payer, elsewhere.publicKey);
    await chain.sendRawTransaction(recorded.tx_bytes, { skipPreflight: true });
    const landed = await chain.waitForSignature(recorded.signature, Number.MAX_SAFE_INTEGER, { pollMs: 20 });
    expect(landed).toMatchObject({ state: 'failed', err: { InstructionError: expect.anything() } });
    await setMintAuthority(elsewhere, h.payer.publicKey);
    expect((await chain.getMintInfo(mint))!.supply).toBe(0n); // the failed transaction minted nothing

    const metrics = createMetrics();
    const rep = await h.minter({ metrics }).run('test');
    expect(rep).toMatchObject({ result: 'success', reconciled: 1, readings: 3 });
    // On a busy machine the rebuilt transaction may still be settling when the run returns; the
    // next runs reconcile it (what the scheduled job does), without building anything new.
    for (let i = 0; i < 5 && rep.confirmed === 0; i++) {
      const next = await h.minter({ metrics }).run('test');
      if (next.confirmed > 0 || next.reconciled > 0) break;
    }
    const outbox = await h.db.pool.query<{ id: string; status: string; error: string | null }>('SELECT id, status, error FROM mint_outbox ORDER BY id');
    expect(outbox.rows.map((r) => r.status)).toEqual(['failed', 'confirmed']);
    expect(outbox.rows[0]!.error).toMatch(/landed with error/);
    expect(await metrics.registry.metrics()).toMatch(/gridmint_mint_transactions_total\{outcome="failed"\} 1/);

    // Every reading now points at the rebuilt, confirmed transaction; nothing at the failed one.
    const readings = await h.db.pool.query<{ id: string; minted: boolean; mint_outbox_id: string }>(
      'SELECT id::text, minted, mint_outbox_id::text FROM meter_readings WHERE id = ANY($1::bigint[]) ORDER BY meter_readings.id',
      [ids],
    );
    expect(readings.rows).toEqual(ids.map((id) => ({ id, minted: true, mint_outbox_id: outbox.rows[1]!.id })));
    expect(await chain.getTokenBalance(mint, owners[0]!)).toBe(4_000_000_001n);
    expect(await chain.getTokenBalance(mint, owners[1]!)).toBe(250_000_000n);
    expect((await chain.getMintInfo(mint))!.supply).toBe(4_250_000_001n);
    const audit = await auditSupply({ pool: h.db.pool, chain, mintAddress: mint });
    expect(audit).toMatchObject({ ok: true, failed_checks: [], drift_base_units: '0' });
  });
});
