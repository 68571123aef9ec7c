import {
  ASSOCIATED_TOKEN_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
  createAssociatedTokenAccountIdempotentInstruction,
  createMintToInstruction,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { ComputeBudgetProgram, PublicKey, TransactionMessage, VersionedTransaction, type Keypair, type TransactionInstruction } from '@solana/web3.js';
import bs58 from 'bs58';
import { U64_MAX } from '../domain/kwh.js';

/** Legacy transaction size limit (IPv6 MTU minus headers). */
export const MAX_TX_BYTES = 1232;

/**
 * Compute budgets per instruction. Measured on LiteSVM 1.5 (p-token): mintTo ≈ 120 CU,
 * ATA create-idempotent ≈ 15.6k CU when it creates, ≈ 6.5k when the ATA exists. The budgets are
 * set for the classic SPL Token program still found on other clusters (mintTo ≈ 4.5k CU, ATA create
 * ≈ 20–25k CU), so one limit works everywhere; an unused limit costs nothing without a CU price.
 */
export const CU_MINT_TO = 5_000;
export const CU_CREATE_ATA = 30_000;
export const CU_BASE = 1_000;
export const MAX_CU_PER_TX = 1_400_000;

export interface MintEntry {
  /** Owner wallet, base58. */
  wallet: string;
  /** Amount in base units (1 kWh = 10^9). */
  baseUnits: bigint;
}

export interface BuildMintOptions {
  mint: PublicKey | string;
  /** Fee payer and mint authority. */
  payer: Keypair;
  /** Pre-aggregated: at most one entry per wallet. */
  entries: readonly MintEntry[];
  /** ATA addresses (base58) known to exist; others get a create-idempotent instruction. */
  existingAtas: ReadonlySet<string>;
  blockhash: string;
  /** Priority fee in micro-lamports per CU; omitted → no SetComputeUnitPrice instruction. */
  computeUnitPrice?: bigint;
  /** For tests; defaults to MAX_TX_BYTES. */
  maxTxBytes?: number;
}

export interface BuiltMintTx {
  /** base58 signature = the transaction id, known before sending. */
  signature: string;
  entries: MintEntry[];
  /** Wire bytes ready for sendRawTransaction. */
  bytes: Uint8Array;
  instructionCount: number;
  /** How many of the entries needed an ATA created. */
  atasCreated: number;
  computeUnitLimit: number;
  /** Legacy-format message wrapped in VersionedTransaction (cheaper to build than a Transaction: see buildMintTransactions). */
  transaction: VersionedTransaction;
}

const ataCache = new Map<string, { key: PublicKey; address: string }>();

/** Associated token address of (mint, wallet), memoised: the PDA search hashes until it finds an off-curve point, too costly to repeat per entry. */
function ataOf(mint: PublicKey | string, wallet: PublicKey | string): { key: PublicKey; address: string } {
  const id = `${String(mint)}:${String(wallet)}`;
  let ata = ataCache.get(id);
  if (!ata) {
    // allowOwnerOffCurve: a wallet may legitimately be a PDA (multisig vault, program-owned). The
    // library's own derivation, not a faster hand-written curve test: a wrong address here would
    // read as a false 0 or mint nowhere, and the memo makes its cost (≈ 0.6 ms) once per wallet.
    const key = getAssociatedTokenAddressSync(new PublicKey(mint), new PublicKey(wallet), true, TOKEN_PROGRAM_ID, ASSOCIATED_TOKEN_PROGRAM_ID);
    ata = { key, address: key.toBase58() };
    if (ataCache.size > 200_000) ataCache.clear();
    ataCache.set(id, ata);
  }
  return ata;
}

export function deriveAta(mint: PublicKey | string, wallet: PublicKey | string): PublicKey {
  return ataOf(mint, wallet).key;
}

/** The same address in base58, memoised with it (an RPC request names accounts in base58). */
export function ataAddress(mint: PublicKey | string, wallet: PublicKey | string): string {
  return ataOf(mint, wallet).address;
}

/** Bytes of a compact-u16 length prefix. */
const cu16 = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : 3);
/** Wire bytes an instruction adds to a legacy message, excluding new account keys. */
const ixBytes = (ix: TransactionInstruction) => 1 + cu16(ix.keys.length) + ix.keys.length + cu16(ix.data.length) + ix.data.length;

interface Group {
  entries: MintEntry[];
  ixs: TransactionInstruction[];
  atas: number;
  keys: Set<string>;
  ixBytes: number;
}

/**
 * Packs mint instructions into as few signed legacy transactions as fit, greedily, by tracking
 * the exact serialized size (unique account keys + per-instruction bytes, the legacy wire layout)
 * as each wallet is added; the final serialize() is checked against the limit. A wallet's
 * create+mintTo pair never spans two transactions. Pure: no network. Signing is deterministic
 * (ed25519), so the same inputs give the same signatures — the caller can record them first.
 */
export function buildMintTransactions(o: BuildMintOptions): BuiltMintTx[] {
  const mint = new PublicKey(o.mint);
  const payer = o.payer.publicKey;
  const maxBytes = o.maxTxBytes ?? MAX_TX_BYTES;
  const seen = new Set<string>();
  const prefix = (cu: number): TransactionInstruction[] => {
    const ixs = [ComputeBudgetProgram.setComputeUnitLimit({ units: cu })];
    if (o.computeUnitPrice !== undefined && o.computeUnitPrice > 0n) {
      ixs.push(ComputeBudgetProgram.setComputeUnitPrice({ microLamports: o.computeUnitPrice }));
    }
    return ixs;
  };
  const cuOf = (g: Group) => Math.min(MAX_CU_PER_TX, CU_BASE + g.entries.length * CU_MINT_TO + g.atas * CU_CREATE_ATA);
  const fresh = (): Group => {
    const g: Group = { entries: [], ixs: [], atas: 0, keys: new Set([payer.toBase58()]), ixBytes: 0 };
    for (const ix of prefix(0)) addIx(g, ix);
    return g;
  };
  const addIx = (g: Group, ix: TransactionInstruction) => {
    g.keys.add(ix.programId.toBase58());
    for (const k of ix.keys) g.keys.add(k.pubkey.toBase58());
    g.ixBytes += ixBytes(ix);
  };
  // signatures (1) + header 3 + keys + blockhash 32 + instructions
  const sizeWith = (g: Group, extraKeys: number, extraIxs: TransactionInstruction[]) => {
    const nKeys = g.keys.size + extraKeys;
    const nIx = g.ixs.length + prefix(0).length + extraIxs.length;
    return 1 + 64 + 3 + cu16(nKeys) + 32 * nKeys + 32 + cu16(nIx) + g.ixBytes + extraIxs.reduce((a, ix) => a + ixBytes(ix), 0);
  };

  const groups: Group[] = [];
  let cur = fresh();
  for (const entry of o.entries) {
    if (seen.has(entry.wallet)) throw new Error(`duplicate wallet ${entry.wallet}: aggregate entries per wallet first`);
    seen.add(entry.wallet);
    if (entry.baseUnits <= 0n || entry.baseUnits > U64_MAX) throw new RangeError(`amount out of range for ${entry.wallet}`);
    const wallet = new PublicKey(entry.wallet);
    const ata = deriveAta(mint, wallet);
    const create = !o.existingAtas.has(ata.toBase58());
    const ixs: TransactionInstruction[] = [];
    if (create) ixs.push(createAssociatedTokenAccountIdempotentInstruction(payer, ata, wallet, mint));
    ixs.push(createMintToInstruction(mint, ata, payer, entry.baseUnits));
    const newKeys = new Set(ixs.flatMap((ix) => [ix.programId, ...ix.keys.map((k) => k.pubkey)]).map((k) => k.toBase58()));
    const extraKeys = [...newKeys].filter((k) => !cur.keys.has(k)).length;
    const tooBig = sizeWith(cur, extraKeys, ixs) > maxBytes;
    const tooCostly = cuOf(cur) + CU_MINT_TO + (create ? CU_CREATE_ATA : 0) > MAX_CU_PER_TX;
    if (cur.entries.length > 0 && (tooBig || tooCostly)) {
      groups.push(cur);
      cur = fresh();
    }
    cur.entries.push(entry);
    for (const ix of ixs) {
      addIx(cur, ix);
      cur.ixs.push(ix);
    }
    if (create) cur.atas++;
  }
  if (cur.entries.length > 0) groups.push(cur);

  return groups.map((g) => {
    const computeUnitLimit = cuOf(g);
    // TransactionMessage compiles faster than legacy Transaction (no localeCompare key sort)
    // and VersionedTransaction.serialize() does not re-verify signatures; the bytes are still a
    // legacy-format transaction.
    const message = new TransactionMessage({ payerKey: payer, recentBlockhash: o.blockhash, instructions: [...prefix(computeUnitLimit), ...g.ixs] }).compileToLegacyMessage();
    const tx = new VersionedTransaction(message);
    tx.sign([o.payer]);
    const bytes = tx.serialize();
    // Guards the size model above; also catches a single wallet that cannot fit on its own.
    if (bytes.length > maxBytes || bytes.length !== sizeWith(g, 0, [])) {
      throw new Error(`mint tx is ${bytes.length} bytes (model ${sizeWith(g, 0, [])}, limit ${maxBytes})`);
    }
    return {
      signature: bs58.encode(tx.signatures[0] as Uint8Array),
      entries: g.entries,
      bytes,
      instructionCount: message.instructions.length,
      atasCreated: g.atas,
      computeUnitLimit,
      transaction: tx,
    };
  });
}
