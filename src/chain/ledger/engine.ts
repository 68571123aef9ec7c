import { address, getTransactionDecoder, type Address } from '@solana/kit';
import bs58 from 'bs58';
import { FailedTransactionMetadata, type LiteSVM, type SlotHash } from 'litesvm';
import type { SlotClock } from './clock.js';
import type { TxRecord } from './store.js';
import { txErrorToJson, type TxErrorJson } from './txerrors.js';
import { parseWireTx, type WireTx } from './wire.js';

/** Lamports per signature, as on mainnet (LiteSVM charges the same). */
export const FEE_PER_SIGNATURE = 5000;
/** Entries kept in the SlotHashes sysvar (agave keeps 512; lookup-table creation needs only recent ones). */
const SLOT_HASHES_KEPT = 150;
/** Bytes of an address lookup table account before its first address. */
const LOOKUP_TABLE_META_SIZE = 56;

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export type SendResult =
  /** Executed and recorded (err is set for a skipPreflight tx that failed on chain). */
  | { kind: 'landed'; signature: string; record: TxRecord }
  /** Preflight refused it; nothing was recorded or charged. */
  | { kind: 'rejected'; signature: string; err: TxErrorJson; logs: string[]; unitsConsumed: number }
  /** skipPreflight: accepted at the door but it can never land (expired blockhash, duplicate, bad sig). */
  | { kind: 'ignored'; signature: string };

export interface SimulateResult {
  err: TxErrorJson | null;
  logs: string[];
  unitsConsumed: number;
}

interface Entry {
  rec: TxRecord;
  committed: boolean;
}

/**
 * Transaction processing on top of LiteSVM with cluster-like admission rules (blockhash age,
 * duplicates, preflight). LiteSVM's own blockhash check is disabled because it only accepts the
 * single latest hash; SlotClock implements the 150-block window instead.
 */
export class LedgerEngine {
  private readonly entries = new Map<string, Entry>();
  private pending: Entry[] = [];
  private syncedSlot = -1;
  private readonly slotHashPool: SlotHash[] = [];
  private readonly decoder = getTransactionDecoder();
  txCount = 0;

  constructor(
    readonly svm: LiteSVM,
    readonly clock: SlotClock,
    /** Slot reported for transactions known only from LiteSVM's restored history. */
    private readonly snapshotSlot: number,
    /** True when there is nothing to persist, so every landed tx is final at once. */
    private readonly ephemeral: boolean,
  ) {}

  /** Records restored from disk are durable by definition. */
  restore(records: TxRecord[]): void {
    for (const rec of records) this.entries.set(rec.sig, { rec, committed: true });
    this.txCount = records.length;
  }

  slot(): number {
    const slot = this.clock.slot();
    if (slot !== this.syncedSlot) {
      this.svm.warpToSlot(BigInt(slot)); // keeps the Clock sysvar programs see in step
      this.syncSlotHashes(slot);
      this.syncedSlot = slot;
    }
    return slot;
  }

  /**
   * warpToSlot leaves the SlotHashes sysvar at genesis, but creating an address lookup table
   * needs its recentSlot listed there. Newest first, as agave keeps it. LiteSVM's SlotHash has no
   * constructor, so the entries are objects taken from getSlotHashes() and reused.
   */
  private syncSlotHashes(slot: number): void {
    const n = Math.min(SLOT_HASHES_KEPT, slot + 1);
    while (this.slotHashPool.length < n) this.slotHashPool.push(...this.svm.getSlotHashes());
    const entries = this.slotHashPool.slice(0, n);
    entries.forEach((e, i) => {
      e.slot = BigInt(slot - i);
      e.hash = this.clock.blockhashAt(slot - i);
    });
    this.svm.setSlotHashes(entries);
  }

  send(bytes: Uint8Array, skipPreflight: boolean): SendResult {
    const wire = parse(bytes);
    const signature = bs58.encode(wire.signatures[0] as Uint8Array);
    const refuse = (err: TxErrorJson, logs: string[] = [], unitsConsumed = 0): SendResult =>
      skipPreflight ? { kind: 'ignored', signature } : { kind: 'rejected', signature, err, logs, unitsConsumed };
    const slot = this.slot();
    if (this.known(signature)) return refuse('AlreadyProcessed');
    if (!this.clock.isValid(wire.recentBlockhash)) return refuse('BlockhashNotFound');
    let tx;
    try {
      tx = this.decoder.decode(bytes);
    } catch (e) {
      throw new RpcError(-32602, `invalid transaction: ${(e as Error).message}`);
    }
    if (!skipPreflight) {
      const sim = this.simulateDecoded(tx, true);
      if (sim.err !== null) return refuse(sim.err, sim.logs, sim.unitsConsumed);
    }
    const loaded = wire.version === 0 ? this.loadedAddresses(wire) : null;
    const keys = loaded ? [...wire.accountKeys, ...[...loaded.writable, ...loaded.readonly].map((k) => bs58.decode(k))] : wire.accountKeys;
    const pre = keys.map((k) => this.rawLamports(k));
    const res = this.execute(tx);
    if (res === null) return refuse('SignatureFailure');
    const failed = res instanceof FailedTransactionMetadata;
    const err = res instanceof FailedTransactionMetadata ? txErrorToJson(res.err()) : null;
    const meta = res instanceof FailedTransactionMetadata ? res.meta() : res;
    // A tx LiteSVM refused before execution (bad signature, sanitize) never lands on a cluster either.
    if (failed && !this.svm.getTransaction(signature as never)) return refuse(err as TxErrorJson, meta.logs());
    const record: TxRecord = {
      sig: signature,
      slot,
      blockTime: Math.floor(Date.now() / 1000),
      err,
      logs: meta.logs(),
      cu: Number(meta.computeUnitsConsumed()),
      fee: FEE_PER_SIGNATURE * wire.numRequiredSignatures,
      pre,
      post: keys.map((k) => this.rawLamports(k)),
      tx: Buffer.from(bytes).toString('base64'),
      ...(loaded ? { loaded } : {}),
    };
    this.add(record);
    return { kind: 'landed', signature, record };
  }

  simulate(bytes: Uint8Array, sigVerify: boolean, replaceRecentBlockhash: boolean): SimulateResult {
    const wire = parse(bytes);
    this.slot();
    if (!replaceRecentBlockhash && !this.clock.isValid(wire.recentBlockhash)) {
      return { err: 'BlockhashNotFound', logs: [], unitsConsumed: 0 };
    }
    return this.simulateDecoded(this.decoder.decode(bytes), sigVerify);
  }

  airdrop(to: string, lamports: bigint): string {
    this.slot();
    // LiteSVM signs airdrops with its latest blockhash; refresh it so repeated identical requests
    // are distinct transactions instead of AlreadyProcessed duplicates.
    this.svm.expireBlockhash();
    const res = this.svm.airdrop(address(to), lamports as never);
    if (!res || res instanceof FailedTransactionMetadata) {
      throw new RpcError(-32603, `airdrop of ${lamports} lamports failed`);
    }
    const signature = bs58.encode(res.signature());
    this.add({
      sig: signature, slot: this.clock.slot(), blockTime: Math.floor(Date.now() / 1000), err: null,
      logs: res.logs(), cu: Number(res.computeUnitsConsumed()), fee: FEE_PER_SIGNATURE, pre: [], post: [], tx: null,
    });
    return signature;
  }

  /** Status as getSignatureStatuses reports it; 'finalized' only once the effects are on disk. */
  status(sig: string): { slot: number; confirmations: number | null; err: TxErrorJson | null; final: boolean } | null {
    const e = this.entries.get(sig);
    if (e) return { slot: e.rec.slot, confirmations: e.committed ? null : 1, err: e.rec.err, final: e.committed };
    const h = this.historyLookup(sig);
    if (!h) return null;
    const err = h instanceof FailedTransactionMetadata ? txErrorToJson(h.err()) : null;
    return { slot: this.snapshotSlot, confirmations: null, err, final: true };
  }

  record(sig: string): TxRecord | null {
    return this.entries.get(sig)?.rec ?? null;
  }

  allRecords(): IterableIterator<Entry> {
    return this.entries.values();
  }

  /** Hands the not-yet-persisted records to a save; call committed() once the snapshot is on disk. */
  takePending(): Entry[] {
    const p = this.pending;
    this.pending = [];
    return p;
  }

  /** A failed save gives its batch back so the next save retries it. */
  requeue(entries: Entry[]): void {
    this.pending = [...entries, ...this.pending];
  }

  committed(entries: Entry[]): void {
    for (const e of entries) e.committed = true;
  }

  hasPending(): boolean {
    return this.pending.length > 0;
  }

  lamports(a: Address): number {
    return Number(this.svm.getBalance(a) ?? 0n);
  }

  /**
   * Balance by raw key bytes. The public getBalance(address) goes through @solana/kit's address
   * codec, called for every account of every transaction (pre/post balances), which dominated the
   * ledger's per-transaction cost in profiles; litesvm 1.5's native handle takes the 32 bytes.
   */
  private rawLamports(key: Uint8Array): number {
    const inner = (this.svm as unknown as { inner?: { getBalance?: (k: Uint8Array) => bigint | null } }).inner;
    if (typeof inner?.getBalance === 'function') return Number(inner.getBalance(key) ?? 0n);
    return this.lamports(address(bs58.encode(key)));
  }

  /**
   * The addresses a v0 transaction loads from its lookup tables, as getTransaction reports them
   * (all writable ones first, then the read-only ones). Tables only grow, so resolving them at
   * send time gives what the transaction used. Unknown tables or indexes resolve to nothing
   * here; LiteSVM refuses such a transaction anyway.
   */
  private loadedAddresses(wire: WireTx): { writable: string[]; readonly: string[] } {
    const writable: string[] = [];
    const readonly: string[] = [];
    for (const l of wire.lookups) {
      const acc = this.svm.getAccount(address(bs58.encode(l.table)));
      if (!acc.exists) continue;
      const at = (i: number) => {
        const off = LOOKUP_TABLE_META_SIZE + 32 * i;
        return off + 32 <= acc.data.length ? bs58.encode(acc.data.subarray(off, off + 32)) : null;
      };
      for (const i of l.writable) writable.push(at(i) ?? '');
      for (const i of l.readonly) readonly.push(at(i) ?? '');
    }
    return { writable: writable.filter(Boolean), readonly: readonly.filter(Boolean) };
  }

  private add(rec: TxRecord): void {
    const e: Entry = { rec, committed: this.ephemeral };
    this.entries.set(rec.sig, e);
    if (!this.ephemeral) this.pending.push(e);
    this.txCount++;
  }

  private execute(tx: ReturnType<typeof this.decoder.decode>) {
    try {
      return this.svm.sendTransaction(tx);
    } catch {
      return null; // kit refuses a tx with missing signatures before LiteSVM sees it
    }
  }

  private known(sig: string): boolean {
    return this.entries.has(sig) || this.historyLookup(sig) !== null;
  }

  private historyLookup(sig: string) {
    try {
      return this.svm.getTransaction(sig as never);
    } catch {
      return null; // not valid base58 → cannot be a known signature
    }
  }

  private simulateDecoded(tx: ReturnType<typeof this.decoder.decode>, sigVerify: boolean): SimulateResult {
    if (!sigVerify) this.svm.withSigverify(false);
    try {
      const r = this.svm.simulateTransaction(tx);
      const failed = r instanceof FailedTransactionMetadata;
      const meta = r.meta();
      return {
        err: failed ? txErrorToJson(r.err()) : null,
        logs: meta.logs(),
        unitsConsumed: Number(meta.computeUnitsConsumed()),
      };
    } catch {
      return { err: 'SignatureFailure', logs: [], unitsConsumed: 0 };
    } finally {
      if (!sigVerify) this.svm.withSigverify(true);
    }
  }
}

function parse(bytes: Uint8Array): WireTx {
  try {
    return parseWireTx(bytes);
  } catch (e) {
    throw new RpcError(-32602, `failed to deserialize transaction: ${(e as Error).message}`);
  }
}
