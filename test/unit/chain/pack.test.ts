import { ComputeBudgetProgram, Keypair, Transaction } from '@solana/web3.js';
import bs58 from 'bs58';
import { describe, expect, it } from 'vitest';
import { buildMintTransactions, deriveAta, MAX_TX_BYTES, type MintEntry } from '../../../src/chain/tokens.js';

const payer = Keypair.fromSeed(new Uint8Array(32).fill(7));
const mint = Keypair.fromSeed(new Uint8Array(32).fill(9)).publicKey;
const blockhash = Keypair.fromSeed(new Uint8Array(32).fill(3)).publicKey.toBase58();
const wallets = Array.from({ length: 300 }, (_, i) => Keypair.fromSeed(new Uint8Array(32).fill(0).map((_, j) => (j === 0 ? i & 0xff : j === 1 ? i >> 8 : 11))).publicKey.toBase58());
const entries: MintEntry[] = wallets.map((wallet, i) => ({ wallet, baseUnits: BigInt(i + 1) * 1_000_000_000n }));

function summary(txs: ReturnType<typeof buildMintTransactions>) {
  const perTx = txs.map((t) => t.entries.length);
  return {
    txs: txs.length,
    walletsPerTx: Math.max(...perTx),
    instructionsPerTx: Math.max(...txs.map((t) => t.instructionCount)),
    maxBytes: Math.max(...txs.map((t) => t.bytes.length)),
    cuLimit: Math.max(...txs.map((t) => t.computeUnitLimit)),
  };
}

describe('buildMintTransactions packing', () => {
  it('packs all-existing ATAs (mintTo only) within 1,232 bytes', () => {
    const existing = new Set(wallets.map((w) => deriveAta(mint, w).toBase58()));
    const t0 = performance.now();
    const txs = buildMintTransactions({ mint, payer, entries, existingAtas: existing, blockhash });
    const ms = performance.now() - t0;
    const s = summary(txs);
    console.log(`[pack] existing ATAs: ${JSON.stringify(s)} build ${ms.toFixed(0)} ms for ${entries.length} wallets`);
    expect(s.maxBytes).toBeLessThanOrEqual(MAX_TX_BYTES);
    expect(s.walletsPerTx).toBeGreaterThanOrEqual(20);
    // Greedy: every tx but the last is full, i.e. one more wallet would not have fitted.
    expect(txs.slice(0, -1).every((t) => t.entries.length === s.walletsPerTx)).toBe(true);
    expect(txs.flatMap((t) => t.entries)).toEqual(entries);
    expect(txs.every((t) => t.atasCreated === 0 && t.instructionCount === t.entries.length + 1)).toBe(true);
  });

  it('packs all-missing ATAs (create-idempotent + mintTo pairs)', () => {
    const txs = buildMintTransactions({ mint, payer, entries, existingAtas: new Set(), blockhash });
    const s = summary(txs);
    console.log(`[pack] missing ATAs: ${JSON.stringify(s)}`);
    expect(s.maxBytes).toBeLessThanOrEqual(MAX_TX_BYTES);
    expect(s.walletsPerTx).toBeGreaterThanOrEqual(9);
    expect(s.walletsPerTx).toBeLessThanOrEqual(11);
    expect(txs.every((t) => t.instructionCount === 2 * t.entries.length + 1)).toBe(true);
  });

  it('adds a compute-unit price when asked, and signs verifiably', () => {
    const txs = buildMintTransactions({ mint, payer, entries: entries.slice(0, 5), existingAtas: new Set(), blockhash, computeUnitPrice: 1000n });
    expect(txs).toHaveLength(1);
    const t = txs[0]!;
    expect(t.instructionCount).toBe(12);
    const decoded = Transaction.from(t.bytes);
    expect(decoded.verifySignatures()).toBe(true);
    expect(decoded.feePayer?.equals(payer.publicKey)).toBe(true);
    // The recorded signature is the fee payer's signature of these exact bytes, in base58.
    expect(t.signature).toBe(bs58.encode(decoded.signature!));
    expect(bs58.decode(t.signature)).toHaveLength(64);
    expect(decoded.instructions.filter((ix) => ix.programId.equals(ComputeBudgetProgram.programId))).toHaveLength(2);
  });

  it('is deterministic and rejects bad input', () => {
    const a = buildMintTransactions({ mint, payer, entries: entries.slice(0, 30), existingAtas: new Set(), blockhash });
    const b = buildMintTransactions({ mint, payer, entries: entries.slice(0, 30), existingAtas: new Set(), blockhash });
    expect(a.map((t) => t.signature)).toEqual(b.map((t) => t.signature));
    const w = wallets[0]!;
    expect(() => buildMintTransactions({ mint, payer, entries: [{ wallet: w, baseUnits: 1n }, { wallet: w, baseUnits: 2n }], existingAtas: new Set(), blockhash })).toThrow(/duplicate/);
    expect(() => buildMintTransactions({ mint, payer, entries: [{ wallet: w, baseUnits: 0n }], existingAtas: new Set(), blockhash })).toThrow(RangeError);
    expect(() => buildMintTransactions({ mint, payer, entries: [{ wallet: w, baseUnits: 1n << 64n }], existingAtas: new Set(), blockhash })).toThrow(RangeError);
    expect(buildMintTransactions({ mint, payer, entries: [], existingAtas: new Set(), blockhash })).toEqual([]);
  });
});
