import { createMemoInstruction } from '@solana/spl-memo';
import { PublicKey, type TransactionInstruction, type VersionedTransactionResponse } from '@solana/web3.js';

/** SPL Memo v2 (what we write) and v1 (still accepted when reading). */
export const MEMO_PROGRAM_ID = new PublicKey('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');
const MEMO_V1 = 'Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo';
/** A memo alone in a one-signer legacy tx fits ~560 bytes; keep a margin. */
export const MAX_MEMO_BYTES = 500;

export function memoInstruction(text: string): TransactionInstruction {
  const n = Buffer.byteLength(text, 'utf8');
  if (n === 0 || n > MAX_MEMO_BYTES) throw new RangeError(`memo must be 1..${MAX_MEMO_BYTES} UTF-8 bytes (got ${n})`);
  return createMemoInstruction(text, []);
}

/** The first memo instruction's text in a fetched transaction, or null if it has none. */
export function extractMemo(tx: Pick<VersionedTransactionResponse, 'transaction'>): string | null {
  const msg = tx.transaction.message;
  const keys = msg.staticAccountKeys;
  for (const ix of msg.compiledInstructions) {
    const program = keys[ix.programIdIndex]?.toBase58();
    if (program === MEMO_PROGRAM_ID.toBase58() || program === MEMO_V1) {
      return Buffer.from(ix.data).toString('utf8');
    }
  }
  return null;
}
