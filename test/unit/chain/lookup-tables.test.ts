import { AddressLookupTableAccount, Keypair, PublicKey } from '@solana/web3.js';
import { describe, expect, it } from 'vitest';
import { viewLookupTable } from '../../../src/chain/lookup-tables.js';
import { MAX_TX_BYTES, deriveAta } from '../../../src/chain/tokens.js';
import { MAX_MINTS_PER_V0_TX, buildMintTransactionsV0 } from '../../../src/chain/tokens-v0.js';

const U64_MAX = 18446744073709551615n;

/** A lookup table account as the chain stores it: 56 bytes of metadata, then the addresses. */
function tableData(addresses: string[], lastExtendedSlot: bigint, startIndex: number, deactivation = U64_MAX): Uint8Array {
  const b = Buffer.alloc(56 + 32 * addresses.length);
  b.writeUInt32LE(1, 0);
  b.writeBigUInt64LE(deactivation, 4);
  b.writeBigUInt64LE(lastExtendedSlot, 12);
  b.writeUInt8(startIndex, 20);
  b.writeUInt8(1, 21);
  Keypair.generate().publicKey.toBuffer().copy(b, 22);
  addresses.forEach((a, i) => new PublicKey(a).toBuffer().copy(b, 56 + 32 * i));
  return b;
}

const key = () => Keypair.generate().publicKey.toBase58();

describe('lookup table activation', () => {
  const addrs = Array.from({ length: 10 }, key);
  const table = key();

  it('addresses extended in the current slot are not usable until the next', () => {
    const v = viewLookupTable(table, tableData(addrs, 100n, 6), 100);
    expect(v.all).toEqual(addrs);
    expect(v.usable.state.addresses.map((a) => a.toBase58())).toEqual(addrs.slice(0, 6));
    expect(viewLookupTable(table, tableData(addrs, 100n, 6), 101).usable.state.addresses).toHaveLength(10);
  });

  it('a deactivated table is not used', () => {
    expect(viewLookupTable(table, tableData(addrs, 100n, 6, 150n), 200).usable.state.addresses).toHaveLength(0);
  });
});

describe('v0 mint packing', () => {
  const payer = Keypair.generate();
  const mint = key();
  const blockhash = Keypair.generate().publicKey.toBase58();
  const entries = Array.from({ length: 150 }, (_, i) => ({ wallet: key(), baseUnits: BigInt(i + 1) * 1_000_000_001n }));
  const atas = entries.map((e) => deriveAta(mint, e.wallet).toBase58());
  const alt = (addresses: string[]) =>
    new AddressLookupTableAccount({ key: Keypair.generate().publicKey, state: AddressLookupTableAccount.deserialize(tableData(addresses, 1n, 0)) });

  it('fits 60 mintTo in a transaction, within the byte limit, with the compute limit sized to them', () => {
    const built = buildMintTransactionsV0({ mint, payer, entries, tables: [alt([mint, ...atas])], blockhash });
    expect(built.map((b) => b.entries.length)).toEqual([60, 60, 30]);
    expect(MAX_MINTS_PER_V0_TX).toBe(60);
    for (const b of built) {
      expect(b.bytes.length).toBeLessThanOrEqual(MAX_TX_BYTES);
      expect(b.instructionCount).toBe(b.entries.length + 1);
      expect(b.computeUnitLimit).toBe(1_000 + 5_000 * b.entries.length);
      expect(b.transaction.message.version).toBe(0);
    }
    expect(built.flatMap((b) => b.entries)).toHaveLength(150);
  });

  it('spans two tables only where one runs out (trimmed to fit), and refuses an account in no table', () => {
    const built = buildMintTransactionsV0({ mint, payer, entries, tables: [alt([mint, ...atas.slice(0, 75)]), alt([mint, ...atas.slice(75)])], blockhash });
    expect(built.map((b) => b.entries.length)).toEqual([60, 59, 31]);
    expect(built.map((b) => b.transaction.message.addressTableLookups.length)).toEqual([1, 2, 1]);
    for (const b of built) expect(b.bytes.length).toBeLessThanOrEqual(MAX_TX_BYTES);
    expect(() => buildMintTransactionsV0({ mint, payer, entries, tables: [alt([mint, ...atas.slice(1)])], blockhash })).toThrow(/no usable lookup table/);
  });
});
