/**
 * Converts LiteSVM's native error objects into the JSON `TransactionError` encoding a real Solana
 * RPC node returns (e.g. "BlockhashNotFound", {"InstructionError":[1,{"Custom":1}]}), so clients
 * see the same values against the local ledger as against a cluster.
 *
 * LiteSVM declares the fieldless variants as `const enum`s (numbers at runtime, no name table),
 * so the names are listed here in the order of litesvm 1.5's internal.d.ts.
 */
const TX_ERRORS = [
  'AccountInUse', 'AccountLoadedTwice', 'AccountNotFound', 'ProgramAccountNotFound',
  'InsufficientFundsForFee', 'InvalidAccountForFee', 'AlreadyProcessed', 'BlockhashNotFound',
  'CallChainTooDeep', 'MissingSignatureForFee', 'InvalidAccountIndex', 'SignatureFailure',
  'InvalidProgramForExecution', 'SanitizeFailure', 'ClusterMaintenance', 'AccountBorrowOutstanding',
  'WouldExceedMaxBlockCostLimit', 'UnsupportedVersion', 'InvalidWritableAccount',
  'WouldExceedMaxAccountCostLimit', 'WouldExceedAccountDataBlockLimit', 'TooManyAccountLocks',
  'AddressLookupTableNotFound', 'InvalidAddressLookupTableOwner', 'InvalidAddressLookupTableData',
  'InvalidAddressLookupTableIndex', 'InvalidRentPayingAccount', 'WouldExceedMaxVoteCostLimit',
  'WouldExceedAccountDataTotalLimit', 'MaxLoadedAccountsDataSizeExceeded', 'ResanitizationNeeded',
  'InvalidLoadedAccountsDataSizeLimit', 'UnbalancedTransaction', 'ProgramCacheHitMaxLimit',
  'CommitCancelled',
] as const;

const IX_ERRORS = [
  'GenericError', 'InvalidArgument', 'InvalidInstructionData', 'InvalidAccountData',
  'AccountDataTooSmall', 'InsufficientFunds', 'IncorrectProgramId', 'MissingRequiredSignature',
  'AccountAlreadyInitialized', 'UninitializedAccount', 'UnbalancedInstruction', 'ModifiedProgramId',
  'ExternalAccountLamportSpend', 'ExternalAccountDataModified', 'ReadonlyLamportChange',
  'ReadonlyDataModified', 'DuplicateAccountIndex', 'ExecutableModified', 'RentEpochModified',
  'NotEnoughAccountKeys', 'AccountDataSizeChanged', 'AccountNotExecutable', 'AccountBorrowFailed',
  'AccountBorrowOutstanding', 'DuplicateAccountOutOfSync', 'InvalidError', 'ExecutableDataModified',
  'ExecutableLamportChange', 'ExecutableAccountNotRentExempt', 'UnsupportedProgramId', 'CallDepth',
  'MissingAccount', 'ReentrancyNotAllowed', 'MaxSeedLengthExceeded', 'InvalidSeeds', 'InvalidRealloc',
  'ComputationalBudgetExceeded', 'PrivilegeEscalation', 'ProgramEnvironmentSetupFailure',
  'ProgramFailedToComplete', 'ProgramFailedToCompile', 'Immutable', 'IncorrectAuthority',
  'AccountNotRentExempt', 'InvalidAccountOwner', 'ArithmeticOverflow', 'UnsupportedSysvar',
  'IllegalOwner', 'MaxAccountsDataAllocationsExceeded', 'MaxAccountsExceeded',
  'MaxInstructionTraceLengthExceeded', 'BuiltinProgramsMustConsumeComputeUnits', 'BorshIoError',
] as const;

/** JSON TransactionError as a real RPC encodes it. */
export type TxErrorJson = string | Record<string, unknown>;

function ixErrorJson(e: unknown): unknown {
  if (typeof e === 'number') return IX_ERRORS[e] ?? `InstructionError${e}`;
  const o = e as { code?: number; msg?: string; constructor?: { name?: string } };
  if (typeof o.code === 'number') return { Custom: o.code };
  if (typeof o.msg === 'string') return { BorshIoError: o.msg };
  return String(e);
}

/** `err` is the value of LiteSVM's `FailedTransactionMetadata.err()`. */
export function txErrorToJson(err: unknown): TxErrorJson {
  if (typeof err === 'number') return TX_ERRORS[err] ?? `TransactionError${err}`;
  const o = err as {
    index?: number;
    accountIndex?: number;
    err?: () => unknown;
    constructor?: { name?: string };
  };
  const kind = o.constructor?.name ?? '';
  if (kind.includes('InstructionError') && typeof o.err === 'function') {
    return { InstructionError: [o.index, ixErrorJson(o.err())] };
  }
  if (kind.includes('DuplicateInstruction')) return { DuplicateInstruction: o.index };
  if (kind.includes('InsufficientFundsForRent')) return { InsufficientFundsForRent: { account_index: o.accountIndex } };
  if (kind.includes('ProgramExecutionTemporarilyRestricted')) {
    return { ProgramExecutionTemporarilyRestricted: { account_index: o.accountIndex } };
  }
  return String(err);
}

const MESSAGES: Record<string, string> = {
  BlockhashNotFound: 'Blockhash not found',
  AlreadyProcessed: 'This transaction has already been processed',
  SignatureFailure: 'Transaction did not pass signature verification',
  InsufficientFundsForFee: 'Insufficient funds for fee',
  AccountNotFound: 'Attempt to debit an account but found no record of a prior credit.',
};

/** Human text in the style of agave's `Display` impl, used in the JSON-RPC error message. */
export function txErrorMessage(err: TxErrorJson): string {
  if (typeof err === 'string') return MESSAGES[err] ?? err;
  const ie = err.InstructionError as [number, unknown] | undefined;
  if (ie) {
    const [index, inner] = ie;
    const detail =
      typeof inner === 'object' && inner !== null && 'Custom' in inner
        ? `custom program error: 0x${Number((inner as { Custom: number }).Custom).toString(16)}`
        : String(typeof inner === 'string' ? inner : JSON.stringify(inner));
    return `Error processing Instruction ${index}: ${detail}`;
  }
  return JSON.stringify(err);
}
