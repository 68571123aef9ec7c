/**
 * What the ERC feature needs from the chain client (src/chain): send a memo, read one back.
 * Both throw ChainUnavailableError (src/chain/errors.ts) when the RPC cannot be reached.
 */
export interface MemoChain {
  /** Sends a transaction carrying an SPL Memo; resolves with its signature once it has landed. */
  sendMemo(text: string): Promise<string>;
  /** The memo text of a landed transaction, or null when the chain has no such transaction/memo. */
  findMemo(signature: string): Promise<string | null>;
}
