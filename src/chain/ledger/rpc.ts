import type { Address } from '@solana/kit';
import bs58 from 'bs58';
import { FEE_PER_SIGNATURE, RpcError, type LedgerEngine } from './engine.js';
import { MAX_AIRDROP_LAMPORTS } from './limits.js';
import type { TxRecord } from './store.js';
import { txErrorMessage } from './txerrors.js';
import { getTransactionJson, keysOf } from './txjson.js';
import { decodeWire, parseWireTx } from './wire.js';

type Params = unknown[];
export type RpcMethods = Record<string, (params: Params) => unknown>;

const TOKEN_PROGRAMS = new Set(['TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA', 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb']);
const SLOTS_PER_EPOCH = 432_000;

interface Cfg {
  encoding?: string;
  skipPreflight?: boolean;
  sigVerify?: boolean;
  replaceRecentBlockhash?: boolean;
  maxSupportedTransactionVersion?: number;
  dataSlice?: { offset: number; length: number };
  limit?: number;
  before?: string;
  until?: string;
}

const cfgOf = (p: unknown): Cfg => (typeof p === 'string' ? { encoding: p } : ((p ?? {}) as Cfg));

function str(p: unknown, what: string): string {
  if (typeof p !== 'string') throw new RpcError(-32602, `Invalid params: ${what} must be a string`);
  return p;
}

/**
 * A base58 string of 32 bytes, as kit's address() checks it, but decoded with bs58: kit's codec
 * decodes through BigInt and was the ledger's largest cost when the balance cache reads thousands
 * of token accounts a second (bench:api profile).
 */
function addr(p: unknown): Address {
  keyBytes(p);
  return p as Address;
}

/** The 32 bytes of a base58 pubkey param (RPC error -32602 otherwise). */
function keyBytes(p: unknown): Uint8Array {
  let bytes: Uint8Array | null = null;
  try {
    bytes = bs58.decode(str(p, 'pubkey'));
  } catch {
    /* refused below */
  }
  if (bytes?.length !== 32) throw new RpcError(-32602, 'Invalid param: Invalid');
  return bytes;
}

/** An account as litesvm's native handle returns it. */
interface RawAccount {
  data(): Uint8Array;
  executable(): boolean;
  lamports(): bigint;
  owner(): Uint8Array;
}

/** Program addresses in base58; accounts have few distinct owners, so each is encoded once. */
const ownerNames = new Map<string, string>();
function ownerName(owner: Uint8Array): string {
  const hex = Buffer.from(owner).toString('hex');
  let name = ownerNames.get(hex);
  if (name === undefined) {
    name = bs58.encode(owner);
    if (ownerNames.size < 10_000) ownerNames.set(hex, name);
  }
  return name;
}

/** Formats base units as a decimal string without floats (e.g. 1234500000, 9 → "1.2345"). */
export function uiAmountString(amount: bigint, decimals: number): string {
  const s = amount.toString().padStart(decimals + 1, '0');
  const int = s.slice(0, s.length - decimals);
  const frac = s.slice(s.length - decimals).replace(/0+$/, '');
  return frac ? `${int}.${frac}` : int;
}

/** JSON-RPC method table, shaped like agave's responses so @solana/web3.js parses them unchanged. */
export function createRpcMethods(engine: LedgerEngine): RpcMethods {
  const { svm, clock } = engine;
  const ctx = (value: unknown) => ({ context: { apiVersion: '2.2.0', slot: engine.slot() }, value });

  // Accounts by raw key bytes, as engine.ts reads balances: svm.getAccount(address) encodes the
  // key and decodes the owner through @solana/kit's BigInt base58 codec, the largest cost of the
  // ledger when the balance cache reads thousands of token accounts a second (bench:api profile).
  const native = (svm as unknown as { inner?: { getAccount?: (k: Uint8Array) => RawAccount | null } }).inner;
  const lookup = (pk: unknown): { data: Uint8Array; executable: boolean; lamports: bigint; programAddress: string } | null => {
    if (typeof native?.getAccount !== 'function') {
      const a = svm.getAccount(addr(pk));
      return a.exists ? a : null;
    }
    const raw = native.getAccount(keyBytes(pk));
    return raw ? { data: raw.data(), executable: raw.executable(), lamports: raw.lamports(), programAddress: ownerName(raw.owner()) } : null;
  };

  const account = (pk: unknown, cfg: Cfg) => {
    const a = lookup(pk);
    if (!a) return null;
    let data = a.data;
    if (cfg.dataSlice) data = data.subarray(cfg.dataSlice.offset, cfg.dataSlice.offset + cfg.dataSlice.length);
    const enc = cfg.encoding === 'base58' ? 'base58' : 'base64'; // jsonParsed falls back to raw, as agave does for unparsable data
    return {
      data: [enc === 'base58' ? bs58.encode(data) : Buffer.from(data).toString('base64'), enc],
      executable: a.executable,
      lamports: Number(a.lamports),
      owner: a.programAddress,
      rentEpoch: 0,
      space: a.data.length,
    };
  };

  const tokenData = (pk: unknown, minLen: number, what: string): Buffer => {
    const a = lookup(pk);
    if (!a || !TOKEN_PROGRAMS.has(a.programAddress) || a.data.length < minLen) {
      throw new RpcError(-32602, `Invalid param: not a ${what}`);
    }
    return Buffer.from(a.data);
  };

  const tokenAmount = (amount: bigint, decimals: number) => {
    const ui = uiAmountString(amount, decimals);
    return { amount: amount.toString(), decimals, uiAmount: Number(ui), uiAmountString: ui };
  };

  const sigsForAddress = (who: string, cfg: Cfg) => {
    const out: TxRecord[] = [];
    for (const { rec } of engine.allRecords()) {
      if (rec.tx && keysOf(rec).includes(who)) out.push(rec);
    }
    out.reverse();
    let start = 0;
    if (cfg.before) start = out.findIndex((r) => r.sig === cfg.before) + 1;
    const stop = cfg.until ? out.findIndex((r) => r.sig === cfg.until) : -1;
    const sliced = out.slice(start, stop >= 0 ? stop : undefined).slice(0, Math.min(cfg.limit ?? 1000, 1000));
    return sliced.map((r) => ({
      signature: r.sig, slot: r.slot, err: r.err, memo: null, blockTime: r.blockTime,
      confirmationStatus: engine.status(r.sig)?.final ? 'finalized' : 'confirmed',
    }));
  };

  return {
    getHealth: () => 'ok',
    getVersion: () => ({ 'solana-core': '2.2.0', 'feature-set': 0 }),
    getGenesisHash: () => clock.genesisHash(),
    getSlot: () => engine.slot(),
    getBlockHeight: () => engine.slot(),
    getTransactionCount: () => engine.txCount,
    getEpochInfo: () => {
      const slot = engine.slot();
      return {
        absoluteSlot: slot, blockHeight: slot, epoch: Math.floor(slot / SLOTS_PER_EPOCH),
        slotIndex: slot % SLOTS_PER_EPOCH, slotsInEpoch: SLOTS_PER_EPOCH, transactionCount: engine.txCount,
      };
    },
    getLatestBlockhash: () => {
      const { blockhash, lastValidBlockHeight } = clock.latest();
      return ctx({ blockhash, lastValidBlockHeight });
    },
    isBlockhashValid: (p) => ctx(clock.isValid(str(p[0], 'blockhash'))),
    getFeeForMessage: (p) => {
      const msg = Buffer.from(str(p[0], 'message'), 'base64');
      const numSigs = msg[((msg[0] ?? 0) & 0x80) !== 0 ? 1 : 0] ?? 0;
      let blockhash: string;
      try {
        blockhash = blockhashOfMessage(msg, numSigs);
      } catch {
        throw new RpcError(-32602, 'Invalid params: malformed message');
      }
      return ctx(clock.isValid(blockhash) ? numSigs * FEE_PER_SIGNATURE : null);
    },
    getRecentPrioritizationFees: () => [],
    getMinimumBalanceForRentExemption: (p) => Number(svm.minimumBalanceForRentExemption(BigInt(Number(p[0] ?? 0)))),
    getBalance: (p) => ctx(engine.lamports(addr(p[0]))),
    getAccountInfo: (p) => ctx(account(p[0], cfgOf(p[1]))),
    getMultipleAccounts: (p) => {
      const keys = p[0];
      if (!Array.isArray(keys) || keys.length > 100) throw new RpcError(-32602, 'Invalid params: up to 100 pubkeys');
      const cfg = cfgOf(p[1]);
      return ctx(keys.map((k) => account(k, cfg)));
    },
    getTokenAccountBalance: (p) => {
      const d = tokenData(p[0], 165, 'Token account');
      const mint = tokenData(bs58.encode(d.subarray(0, 32)), 82, 'Token mint');
      return ctx(tokenAmount(d.readBigUInt64LE(64), mint[44] ?? 0));
    },
    getTokenSupply: (p) => {
      const d = tokenData(p[0], 82, 'Token mint');
      return ctx(tokenAmount(d.readBigUInt64LE(36), d[44] ?? 0));
    },
    requestAirdrop: (p) => {
      const lamports = BigInt(Number(p[1] ?? 0));
      if (lamports <= 0n || lamports > MAX_AIRDROP_LAMPORTS) {
        throw new RpcError(-32602, `Invalid params: airdrop must be 1..${MAX_AIRDROP_LAMPORTS} lamports`);
      }
      return engine.airdrop(addr(p[0]), lamports);
    },
    sendTransaction: (p) => {
      const cfg = cfgOf(p[1]);
      const bytes = wireArg(p[0], cfg.encoding);
      const r = engine.send(bytes, cfg.skipPreflight === true);
      if (r.kind !== 'rejected') return r.signature;
      throw new RpcError(-32002, `Transaction simulation failed: ${txErrorMessage(r.err)}`, {
        accounts: null, err: r.err, innerInstructions: null, logs: r.logs,
        replacementBlockhash: null, returnData: null, unitsConsumed: r.unitsConsumed,
      });
    },
    simulateTransaction: (p) => {
      const cfg = cfgOf(p[1]);
      const replace = cfg.replaceRecentBlockhash === true;
      const r = engine.simulate(wireArg(p[0], cfg.encoding), cfg.sigVerify === true, replace);
      const { blockhash, lastValidBlockHeight } = clock.latest();
      return ctx({
        err: r.err, logs: r.logs, accounts: null, unitsConsumed: r.unitsConsumed, returnData: null,
        innerInstructions: null, replacementBlockhash: replace ? { blockhash, lastValidBlockHeight } : null,
      });
    },
    getSignatureStatuses: (p) => {
      const sigs = p[0];
      if (!Array.isArray(sigs) || sigs.length > 256) throw new RpcError(-32602, 'Invalid params: up to 256 signatures');
      return ctx(
        sigs.map((s) => {
          const st = engine.status(String(s));
          if (!st) return null;
          return {
            slot: st.slot, confirmations: st.confirmations, err: st.err,
            status: st.err === null ? { Ok: null } : { Err: st.err },
            confirmationStatus: st.final ? 'finalized' : 'confirmed',
          };
        }),
      );
    },
    getTransaction: (p) => getTransactionJson(engine.record(str(p[0], 'signature')), cfgOf(p[1])),
    getSignaturesForAddress: (p) => sigsForAddress(addr(p[0]), cfgOf(p[1])),
  };
}

function wireArg(p: unknown, encoding: string | undefined): Uint8Array {
  try {
    return decodeWire(str(p, 'transaction'), encoding);
  } catch (e) {
    throw new RpcError(-32602, `invalid transaction: ${(e as Error).message}`);
  }
}

function blockhashOfMessage(msg: Uint8Array, numSigs: number): string {
  // A message is a transaction minus its signatures: reuse the parser with zeroed signatures.
  const fake = new Uint8Array(1 + 64 * numSigs + msg.length);
  fake[0] = numSigs;
  fake.set(msg, 1 + 64 * numSigs);
  return parseWireTx(fake).recentBlockhash;
}
