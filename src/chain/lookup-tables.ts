import {
  AddressLookupTableAccount, AddressLookupTableProgram, PublicKey, TransactionMessage, VersionedTransaction,
  type Keypair, type TransactionInstruction,
} from '@solana/web3.js';
import bs58 from 'bs58';
import { MAX_TX_BYTES } from './tokens.js';

/** A lookup table holds at most 256 addresses (u8 indexes). */
export const MAX_LOOKUP_TABLE_ADDRESSES = 256;
/** Addresses per extend transaction: a legacy tx of one signer fits ~29 with the create ix. */
export const EXTEND_CHUNK = 26;
const U64_MAX = 18446744073709551615n;

export interface SignedTableTx {
  signature: string;
  bytes: Uint8Array;
}

function sign(payer: Keypair, blockhash: string, instructions: TransactionInstruction[]): SignedTableTx {
  const message = new TransactionMessage({ payerKey: payer.publicKey, recentBlockhash: blockhash, instructions }).compileToLegacyMessage();
  const tx = new VersionedTransaction(message);
  tx.sign([payer]);
  const bytes = tx.serialize();
  if (bytes.length > MAX_TX_BYTES) throw new Error(`lookup table tx is ${bytes.length} bytes (limit ${MAX_TX_BYTES})`);
  return { signature: bs58.encode(tx.signatures[0] as Uint8Array), bytes };
}

/**
 * Create (+ first extension with `addresses`) of a table owned by `payer`. The address is derived
 * from (authority, recentSlot), so it is known before anything is sent.
 */
export function buildCreateLookupTable(payer: Keypair, recentSlot: number, blockhash: string, addresses: string[]): SignedTableTx & { table: string } {
  const [create, table] = AddressLookupTableProgram.createLookupTable({ authority: payer.publicKey, payer: payer.publicKey, recentSlot });
  const ixs = [create];
  if (addresses.length > 0) ixs.push(extendIx(payer, table, addresses));
  return { ...sign(payer, blockhash, ixs), table: table.toBase58() };
}

export function buildExtendLookupTable(payer: Keypair, table: string, blockhash: string, addresses: string[]): SignedTableTx {
  return sign(payer, blockhash, [extendIx(payer, new PublicKey(table), addresses)]);
}

function extendIx(payer: Keypair, table: PublicKey, addresses: string[]): TransactionInstruction {
  return AddressLookupTableProgram.extendLookupTable({
    lookupTable: table, authority: payer.publicKey, payer: payer.publicKey, addresses: addresses.map((a) => new PublicKey(a)),
  });
}

/** A table as the chain holds it, and the addresses a transaction may use from it at `slot`. */
export interface LookupTableView {
  account: AddressLookupTableAccount;
  /** every address, including ones extended in the current slot */
  all: string[];
  /** the addresses a transaction processed at `slot` may load */
  usable: AddressLookupTableAccount;
}

/**
 * Addresses appended in slot S become usable in slot S + 1 (agave activates an extension one
 * slot later); a deactivated table is not used at all.
 */
export function viewLookupTable(key: string, data: Uint8Array, slot: number): LookupTableView {
  const state = AddressLookupTableAccount.deserialize(data);
  const account = new AddressLookupTableAccount({ key: new PublicKey(key), state });
  const active = state.deactivationSlot === U64_MAX;
  const n = !active ? 0 : slot > state.lastExtendedSlot ? state.addresses.length : state.lastExtendedSlotStartIndex;
  const usable = new AddressLookupTableAccount({ key: account.key, state: { ...state, addresses: state.addresses.slice(0, n) } });
  return { account, all: state.addresses.map((a) => a.toBase58()), usable };
}
