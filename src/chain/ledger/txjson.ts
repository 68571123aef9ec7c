import { VersionedTransaction } from '@solana/web3.js';
import bs58 from 'bs58';
import { RpcError } from './engine.js';
import type { TxRecord } from './store.js';
import { parseWireTx } from './wire.js';

/** getTransaction / getSignaturesForAddress helpers: stored records → agave-shaped JSON. */

const keyCache = new WeakMap<TxRecord, string[]>();
export function keysOf(rec: TxRecord): string[] {
  let keys = keyCache.get(rec);
  if (!keys) {
    keys = parseWireTx(Buffer.from(rec.tx ?? '', 'base64')).accountKeys.map((k) => bs58.encode(k));
    if (rec.loaded) keys.push(...rec.loaded.writable, ...rec.loaded.readonly);
    keyCache.set(rec, keys);
  }
  return keys;
}

export function getTransactionJson(rec: TxRecord | null, cfg: { encoding?: string; maxSupportedTransactionVersion?: number }): unknown {
  if (!rec || !rec.tx) return null; // airdrops are built inside LiteSVM: status only, no body
  const bytes = Buffer.from(rec.tx, 'base64');
  const vtx = VersionedTransaction.deserialize(bytes);
  const m = vtx.message;
  if (m.version !== 'legacy' && cfg.maxSupportedTransactionVersion === undefined) {
    throw new RpcError(-32015, `Transaction version (${m.version}) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0`);
  }
  const meta = {
    err: rec.err, status: rec.err === null ? { Ok: null } : { Err: rec.err }, fee: rec.fee,
    preBalances: rec.pre, postBalances: rec.post, innerInstructions: [], logMessages: rec.logs,
    preTokenBalances: [], postTokenBalances: [], rewards: [], loadedAddresses: rec.loaded ?? { writable: [], readonly: [] },
    computeUnitsConsumed: rec.cu,
  };
  const transaction =
    cfg.encoding === 'base64'
      ? [rec.tx, 'base64']
      : {
          signatures: vtx.signatures.map((s) => bs58.encode(s)),
          message: {
            accountKeys: m.staticAccountKeys.map((k) => k.toBase58()),
            header: m.header,
            recentBlockhash: m.recentBlockhash,
            instructions: m.compiledInstructions.map((ix) => ({
              programIdIndex: ix.programIdIndex, accounts: ix.accountKeyIndexes,
              data: bs58.encode(ix.data), stackHeight: null,
            })),
            ...(m.version === 'legacy' ? {} : { addressTableLookups: m.addressTableLookups }),
          },
        };
  const version = cfg.maxSupportedTransactionVersion === undefined ? {} : { version: m.version };
  return { slot: rec.slot, blockTime: rec.blockTime, meta, transaction, ...version };
}
