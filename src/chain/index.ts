/**
 * Solana client surface used by the minter, API and CLI. The embedded ledger lives in
 * ./ledger/index.js and is imported separately, so cluster deployments never load LiteSVM.
 */
export { createChainClient, type ChainClient, type ChainClientOptions, type MintInfo, type TxStatus, type WaitOutcome } from './client.js';
export { ChainTxError, ChainUnavailableError, txErrorKind, type ChainTxErrorKind } from './errors.js';
export { keypairFromJson, keypairToJson, loadOrCreateKeypair, writeKeypairFile } from './keys.js';
export { MAX_MEMO_BYTES, MEMO_PROGRAM_ID, extractMemo, memoInstruction } from './memo.js';
export {
  CU_BASE, CU_CREATE_ATA, CU_MINT_TO, MAX_TX_BYTES, buildMintTransactions, deriveAta,
  type BuildMintOptions, type BuiltMintTx, type MintEntry,
} from './tokens.js';
