/**
 * Typed chain errors. Callers branch on these classes, never on message text:
 * - ChainUnavailableError: the RPC could not answer (network, timeout, HTTP 5xx, node unhealthy).
 *   The API maps it to 503; a balance must never silently become 0 because of it. For
 *   sendRawTransaction it means "outcome unknown": the transaction MAY have been accepted, so the
 *   minter must reconcile by signature before rebuilding.
 * - ChainTxError: the node answered and rejected the transaction (preflight failure).
 */
export class ChainUnavailableError extends Error {
  override readonly name = 'ChainUnavailableError';
  constructor(
    readonly method: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${method}: ${message}`, options);
  }
}

/** Why the node refused a transaction. 'failed' = the program (or runtime) rejected it. */
export type ChainTxErrorKind = 'blockhash-not-found' | 'already-processed' | 'failed';

export class ChainTxError extends Error {
  override readonly name = 'ChainTxError';
  constructor(
    readonly kind: ChainTxErrorKind,
    message: string,
    /** TransactionError exactly as the RPC returned it, e.g. "BlockhashNotFound" or {InstructionError:[…]}. */
    readonly txError: unknown,
    readonly logs: string[],
  ) {
    super(message);
  }
}

/** Classifies an RPC `TransactionError` value into a ChainTxErrorKind. */
export function txErrorKind(err: unknown): ChainTxErrorKind {
  if (err === 'BlockhashNotFound') return 'blockhash-not-found';
  if (err === 'AlreadyProcessed') return 'already-processed';
  return 'failed';
}
