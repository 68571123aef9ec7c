import { createMintToInstruction } from '@solana/spl-token';
import { ComputeBudgetProgram, PublicKey, TransactionMessage, VersionedTransaction, type AddressLookupTableAccount, type Keypair } from '@solana/web3.js';
import bs58 from 'bs58';
import { U64_MAX } from '../domain/kwh.js';
import { CU_BASE, CU_MINT_TO, MAX_TX_BYTES, deriveAta, type BuiltMintTx, type MintEntry } from './tokens.js';

/**
 * Accounts one transaction may lock (agave MAX_TX_ACCOUNT_LOCKS). With the payer, the token
 * program and the compute-budget program static and the mint loaded, that leaves 60 token
 * accounts: the ceiling of mintTo per transaction whatever the byte size.
 */
export const MAX_ACCOUNT_LOCKS = 64;
export const MAX_MINTS_PER_V0_TX = MAX_ACCOUNT_LOCKS - 4;

export interface BuildMintV0Options {
  mint: PublicKey | string;
  payer: Keypair;
  /** Pre-aggregated, one per wallet; every wallet's token account exists and is in `tables`. */
  entries: readonly MintEntry[];
  /** Usable addresses only (see viewLookupTable); each holds the mint. */
  tables: readonly AddressLookupTableAccount[];
  blockhash: string;
  computeUnitPrice?: bigint;
}

/**
 * Packs mintTo instructions to existing token accounts into v0 transactions whose accounts come
 * from lookup tables: up to MAX_MINTS_PER_V0_TX each, entries of one table together; a
 * transaction that spans two tables (34 more bytes) is trimmed to fit the size limit. The compute limit is sized to the
 * instructions. Pure and deterministic, like buildMintTransactions.
 */
export function buildMintTransactionsV0(o: BuildMintV0Options): BuiltMintTx[] {
  const mint = new PublicKey(o.mint);
  const payer = o.payer.publicKey;
  const tableOf = new Map<string, number>();
  o.tables.forEach((t, i) => {
    for (const a of t.state.addresses) if (!tableOf.has(a.toBase58())) tableOf.set(a.toBase58(), i);
  });
  const items = o.entries.map((e) => {
    if (e.baseUnits <= 0n || e.baseUnits > U64_MAX) throw new RangeError(`amount out of range for ${e.wallet}`);
    const ata = deriveAta(mint, e.wallet);
    const table = tableOf.get(ata.toBase58());
    if (table === undefined) throw new Error(`token account of ${e.wallet} is in no usable lookup table`);
    return { entry: e, ata, table };
  });
  if (new Set(items.map((i) => i.entry.wallet)).size !== items.length) throw new Error('duplicate wallet: aggregate entries per wallet first');
  items.sort((a, b) => a.table - b.table);

  const compile = (batch: typeof items): BuiltMintTx | null => {
    const computeUnitLimit = CU_BASE + batch.length * CU_MINT_TO;
    const ixs = [ComputeBudgetProgram.setComputeUnitLimit({ units: computeUnitLimit })];
    if (o.computeUnitPrice !== undefined && o.computeUnitPrice > 0n) ixs.push(ComputeBudgetProgram.setComputeUnitPrice({ microLamports: o.computeUnitPrice }));
    for (const it of batch) ixs.push(createMintToInstruction(mint, it.ata, payer, it.entry.baseUnits));
    // Only this batch's tables, its first first: every table holds the mint, and naming it from
    // another table would add a second lookup.
    const tables = [...new Set(batch.map((b) => b.table))].map((t) => o.tables[t]!);
    const message = new TransactionMessage({ payerKey: payer, recentBlockhash: o.blockhash, instructions: ixs }).compileToV0Message(tables);
    const tx = new VersionedTransaction(message);
    let bytes: Uint8Array;
    try {
      bytes = tx.serialize(); // unsigned: size only; throws when the encoding overflows
    } catch {
      return null;
    }
    if (bytes.length > MAX_TX_BYTES) return null;
    tx.sign([o.payer]);
    return {
      signature: bs58.encode(tx.signatures[0] as Uint8Array),
      entries: batch.map((b) => b.entry),
      bytes: tx.serialize(),
      instructionCount: message.compiledInstructions.length,
      atasCreated: 0,
      computeUnitLimit,
      transaction: tx,
    };
  };

  const out: BuiltMintTx[] = [];
  let i = 0;
  while (i < items.length) {
    let n = Math.min(MAX_MINTS_PER_V0_TX, items.length - i);
    let built = compile(items.slice(i, i + n));
    while (!built && n > 1) built = compile(items.slice(i, i + --n));
    if (!built) throw new Error('a single mintTo does not fit a v0 transaction');
    out.push(built);
    i += n;
  }
  return out;
}
