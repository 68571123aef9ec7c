import { ACCOUNT_SIZE, AccountLayout, MINT_SIZE, TOKEN_PROGRAM_ID, createInitializeMint2Instruction, unpackAccount, unpackMint } from '@solana/spl-token';
import { Connection, Keypair, PublicKey, SystemProgram, Transaction, type Commitment, type Finality } from '@solana/web3.js';
import bs58 from 'bs58';
import type { Logger } from 'pino';
import { ChainTxError, ChainUnavailableError, txErrorKind } from './errors.js';
import { sleep } from '../lib/retry.js';
import { MAX_AIRDROP_LAMPORTS } from './ledger/limits.js';
import { extractMemo, memoInstruction } from './memo.js';
import { ataAddress, deriveAta } from './tokens.js';

export interface ChainClientOptions {
  rpcUrl: string;
  /** Fee payer and mint authority. */
  payer: Keypair;
  commitment?: Commitment;
  logger: Logger;
  /** Called once per failed RPC call, with the JSON-RPC method name (for metrics). */
  onRpcError?: (method: string) => void;
  /** True for the embedded local ledger: only then may ensureFunded airdrop. */
  isLocal?: boolean;
  /** Per-call timeout (default 10 s). */
  timeoutMs?: number;
}

export interface MintInfo {
  address: string;
  decimals: number;
  supply: bigint;
  mintAuthority: string | null;
}

export interface TxStatus {
  slot: number;
  /** RPC TransactionError value, null on success. */
  err: unknown;
  confirmationStatus: 'processed' | 'confirmed' | 'finalized' | null;
}

export type WaitOutcome =
  | { state: 'finalized'; slot: number }
  | { state: 'failed'; err: unknown }
  /** Block height passed lastValidBlockHeight with no status: it can never land; safe to rebuild. */
  | { state: 'expired' }
  | { state: 'timeout' };

export type ChainClient = ReturnType<typeof createChainClient>;


/** An account as getMultipleAccounts answers it with base64 encoding. */
interface RpcAccount {
  data: [string, string];
  owner: string;
}

const TOKEN_PROGRAM = TOKEN_PROGRAM_ID.toBase58();
const AMOUNT_OFFSET = AccountLayout.offsetOf('amount')!;
const MINT_OFFSET = AccountLayout.offsetOf('mint')!;

/** A token account's amount, refusing what is not one of this mint (as unpackAccount refuses). */
function tokenAmountOf(ata: string, info: RpcAccount, mintBytes: Buffer): bigint {
  if (info.owner !== TOKEN_PROGRAM) throw new Error(`account ${ata} is owned by ${info.owner}, not the token program`);
  const data = Buffer.from(info.data[0], 'base64');
  if (data.length < ACCOUNT_SIZE) throw new Error(`account ${ata} is ${data.length} bytes, not a token account`);
  if (!data.subarray(MINT_OFFSET, MINT_OFFSET + 32).equals(mintBytes)) throw new Error(`account ${ata} is not of mint ${bs58.encode(mintBytes)}`);
  return data.readBigUInt64LE(AMOUNT_OFFSET);
}

/** Production Solana client for any RPC endpoint (local ledger or a cluster). */
export function createChainClient(o: ChainClientOptions) {
  const log = o.logger.child({ component: 'chain' });
  const timeoutMs = o.timeoutMs ?? 10_000;
  const commitment: Commitment = o.commitment ?? 'confirmed';
  const payer = o.payer;
  const connection = new Connection(o.rpcUrl, {
    commitment,
    disableRetryOnRateLimit: true, // fail fast; callers own retry policy
    fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }),
  });

  /** Every RPC goes through here: one error type out, one counter per method. */
  const call = async <T>(method: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      o.onRpcError?.(method);
      if (e instanceof ChainTxError || e instanceof ChainUnavailableError) throw e;
      log.warn({ method, err: (e as Error).message }, 'rpc call failed');
      throw new ChainUnavailableError(method, (e as Error).message, { cause: e });
    }
  };

  /** One JSON-RPC call: its result or its error, as the node sent them. */
  const post = async (method: string, params: unknown[]) => {
    const res = await fetch(o.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) throw new ChainUnavailableError(method, `HTTP ${res.status}`);
    return (await res.json()) as { result?: unknown; error?: { code: number; message: string; data?: { err?: unknown; logs?: string[] } } };
  };

  /** Raw JSON-RPC, used where web3.js would flatten the structured error (sendTransaction). */
  const raw = async (method: string, params: unknown[]): Promise<unknown> => {
    const body = await post(method, params);
    const err = body.error;
    if (!err) return body.result;
    // -32002 preflight failure, -32003 signature verification, -32602 undecodable tx: the node
    // looked at the transaction and refused it. Anything else says nothing about the tx.
    if (err.code === -32002 || err.code === -32003 || err.code === -32602) {
      const txErr = err.data?.err ?? err.message;
      throw new ChainTxError(txErrorKind(txErr), err.message, txErr, err.data?.logs ?? []);
    }
    throw new ChainUnavailableError(method, `${err.code} ${err.message}`);
  };

  /** A read by raw JSON-RPC: any error means the chain could not answer (ChainUnavailableError via `call`). */
  const read = async (method: string, params: unknown[]): Promise<unknown> => {
    const body = await post(method, params);
    if (body.error) throw new Error(`${body.error.code} ${body.error.message}`);
    return body.result;
  };

  const getLatestBlockhash = () => call('getLatestBlockhash', () => connection.getLatestBlockhash(commitment));
  const getBlockHeight = () => call('getBlockHeight', () => connection.getBlockHeight(commitment));
  const getSlot = (at: Commitment = commitment) => call('getSlot', () => connection.getSlot(at));
  /** Identifies the cluster (or local ledger instance) behind the RPC URL. */
  const getGenesisHash = () => call('getGenesisHash', () => connection.getGenesisHash());
  const getBalance = async (who: PublicKey = payer.publicKey): Promise<bigint> =>
    BigInt(await call('getBalance', () => connection.getBalance(who, commitment)));

  /** Sends wire bytes; returns the signature. ChainUnavailableError here means "maybe sent". */
  const sendRawTransaction = (bytes: Uint8Array, opts: { skipPreflight?: boolean } = {}): Promise<string> =>
    call('sendTransaction', async () => {
      const params = { encoding: 'base64', skipPreflight: opts.skipPreflight ?? false, preflightCommitment: commitment };
      return String(await raw('sendTransaction', [Buffer.from(bytes).toString('base64'), params]));
    });

  /** Statuses in request order (null = unknown to the node), searching full history. */
  const getSignatureStatuses = async (sigs: readonly string[]): Promise<(TxStatus | null)[]> => {
    const out: (TxStatus | null)[] = [];
    for (let i = 0; i < sigs.length; i += 256) {
      const chunk = sigs.slice(i, i + 256);
      const res = await call('getSignatureStatuses', () => connection.getSignatureStatuses(chunk, { searchTransactionHistory: true }));
      for (const s of res.value) out.push(s ? { slot: s.slot, err: s.err, confirmationStatus: s.confirmationStatus ?? null } : null);
    }
    return out;
  };

  /** Polls until the tx is finalized, failed, or provably expired (block height > lastValidBlockHeight). */
  const waitForSignature = async (sig: string, lastValidBlockHeight: number, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<WaitOutcome> => {
    const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
    for (;;) {
      const [st] = await getSignatureStatuses([sig]);
      if (st?.err) return { state: 'failed', err: st.err };
      if (st?.confirmationStatus === 'finalized') return { state: 'finalized', slot: st.slot };
      if (!st && (await getBlockHeight()) > lastValidBlockHeight) {
        // Re-check after reading the height: it may have landed in between.
        const [again] = await getSignatureStatuses([sig]);
        if (!again) return { state: 'expired' };
      }
      if (Date.now() > deadline) return { state: 'timeout' };
      await sleep(opts.pollMs ?? 200);
    }
  };

  const sendAndWait = async (tx: Transaction, signers: Keypair[], what: string): Promise<string> => {
    const { blockhash, lastValidBlockHeight } = await getLatestBlockhash();
    tx.feePayer = payer.publicKey;
    tx.recentBlockhash = blockhash;
    tx.sign(...signers);
    const sig = await sendRawTransaction(tx.serialize());
    const r = await waitForSignature(sig, lastValidBlockHeight);
    if (r.state !== 'finalized') throw new Error(`${what} ${sig} did not finalize: ${JSON.stringify(r)}`);
    return sig;
  };

  /**
   * Token accounts of (mint, wallets), fetched 100 per getMultipleAccounts call. By raw JSON-RPC
   * with the addresses' memoised base58 (balances read thousands of accounts a second: web3.js
   * re-encoded every address and validated every response with superstruct), each account checked
   * as unpackAccount checks it (token program owner, size) and of this mint.
   */
  const fetchTokenAccounts = async (mint: string, wallets: readonly string[]) => {
    const atas = wallets.map((w) => ataAddress(mint, w));
    const mintBytes = new PublicKey(mint).toBuffer();
    const out: { wallet: string; ata: string; amount: bigint | null }[] = [];
    for (let i = 0; i < atas.length; i += 100) {
      const chunk = atas.slice(i, i + 100);
      const infos = await call('getMultipleAccounts', async () => {
        const r = (await read('getMultipleAccounts', [chunk, { encoding: 'base64', commitment }])) as { value?: unknown } | null;
        if (!Array.isArray(r?.value) || r.value.length !== chunk.length) throw new Error('getMultipleAccounts: malformed result');
        return r.value as (RpcAccount | null)[];
      });
      infos.forEach((info, j) => {
        const ata = chunk[j]!;
        out.push({ wallet: wallets[i + j] as string, ata, amount: info ? tokenAmountOf(ata, info, mintBytes) : null });
      });
    }
    return out;
  };

  return {
    connection,
    /** the fee payer's and mint authority's address (the Keypair itself stays in here and in mint/) */
    authority: payer.publicKey,
    isLocal: o.isLocal ?? false,
    getLatestBlockhash,
    getBlockHeight,
    getSlot,
    getGenesisHash,
    getBalance,
    sendRawTransaction,
    getSignatureStatuses,
    waitForSignature,

    /** Tops the payer up to minLamports by airdrop; only on the local ledger. Returns the balance. */
    async ensureFunded(minLamports: bigint): Promise<bigint> {
      let bal = await getBalance();
      if (bal >= minLamports) return bal;
      if (!o.isLocal) throw new Error(`payer ${payer.publicKey.toBase58()} holds ${bal} lamports, needs ${minLamports}: fund it`);
      while (bal < minLamports) {
        const want = minLamports - bal < MAX_AIRDROP_LAMPORTS ? minLamports - bal : MAX_AIRDROP_LAMPORTS;
        const { lastValidBlockHeight } = await getLatestBlockhash();
        const sig = await call('requestAirdrop', () => connection.requestAirdrop(payer.publicKey, Number(want)));
        const r = await waitForSignature(sig, lastValidBlockHeight);
        if (r.state !== 'finalized') throw new ChainUnavailableError('requestAirdrop', `airdrop ${r.state}`);
        bal = await getBalance();
      }
      log.info({ lamports: bal.toString() }, 'payer funded by local airdrop');
      return bal;
    },

    /** Creates an SPL mint (authority = payer, no freeze authority) and waits for finality. */
    async createMint(decimals = 9, mintKeypair: Keypair = Keypair.generate()): Promise<string> {
      const rent = await call('getMinimumBalanceForRentExemption', () => connection.getMinimumBalanceForRentExemption(MINT_SIZE));
      const tx = new Transaction().add(
        SystemProgram.createAccount({ fromPubkey: payer.publicKey, newAccountPubkey: mintKeypair.publicKey, lamports: rent, space: MINT_SIZE, programId: TOKEN_PROGRAM_ID }),
        createInitializeMint2Instruction(mintKeypair.publicKey, decimals, payer.publicKey, null),
      );
      await sendAndWait(tx, [payer, mintKeypair], 'createMint');
      log.info({ mint: mintKeypair.publicKey.toBase58(), decimals }, 'mint created');
      return mintKeypair.publicKey.toBase58();
    },

    /** Raw account data, or null when no account exists (lookup tables). */
    async getAccountData(addr: string): Promise<Uint8Array | null> {
      const info = await call('getAccountInfo', () => connection.getAccountInfo(new PublicKey(addr), commitment));
      return info ? new Uint8Array(info.data) : null;
    },

    /** null when no account exists at `mint`. */
    async getMintInfo(mint: string): Promise<MintInfo | null> {
      const pk = new PublicKey(mint);
      const info = await call('getAccountInfo', () => connection.getAccountInfo(pk, commitment));
      if (!info) return null;
      const m = unpackMint(pk, info, TOKEN_PROGRAM_ID);
      return { address: mint, decimals: m.decimals, supply: m.supply, mintAuthority: m.mintAuthority?.toBase58() ?? null };
    },

    /** Base units held by wallet's ATA; 0n only if the ATA does not exist. RPC failure throws ChainUnavailableError. */
    async getTokenBalance(mint: string, wallet: string): Promise<bigint> {
      const ata = deriveAta(mint, wallet);
      const info = await call('getAccountInfo', () => connection.getAccountInfo(ata, commitment));
      return info ? unpackAccount(ata, info, TOKEN_PROGRAM_ID).amount : 0n;
    },

    /** wallet → base units (0n where no ATA exists), for audits. */
    async getTokenBalances(mint: string, wallets: readonly string[]): Promise<Map<string, bigint>> {
      const rows = await fetchTokenAccounts(mint, wallets);
      return new Map(rows.map((r) => [r.wallet, r.amount ?? 0n]));
    },

    /** ATA addresses (base58) that exist, as buildMintTransactions' existingAtas expects. */
    async getExistingAtas(mint: string, wallets: readonly string[]): Promise<Set<string>> {
      const rows = await fetchTokenAccounts(mint, wallets);
      return new Set(rows.filter((r) => r.amount !== null).map((r) => r.ata));
    },

    /** Writes `text` as an SPL Memo and waits until finalized; returns the signature. */
    sendMemo(text: string): Promise<string> {
      return sendAndWait(new Transaction().add(memoInstruction(text)), [payer], 'memo');
    },

    /** The memo written by transaction `signature`, or null if unknown / no memo. */
    async findMemo(signature: string): Promise<string | null> {
      const c: Finality = commitment === 'finalized' ? 'finalized' : 'confirmed'; // getTransaction accepts only these
      const tx = await call('getTransaction', () => connection.getTransaction(signature, { commitment: c, maxSupportedTransactionVersion: 0 }));
      return tx ? extractMemo(tx) : null;
    },
  };
}

