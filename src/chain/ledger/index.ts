import { randomBytes } from 'node:crypto';
import bs58 from 'bs58';
import { LiteSVM } from 'litesvm';
import type { Logger } from 'pino';
import { SlotClock, type ClockState } from './clock.js';
import { LedgerEngine } from './engine.js';
import { createRpcMethods } from './rpc.js';
import { createRpcServer, type FaultFn } from './server.js';
import { LedgerFiles, type TxRecord } from './store.js';

export type { FaultAction, FaultFn } from './server.js';
export { MAX_PROCESSING_AGE, SLOT_MS } from './clock.js';

export interface LocalLedgerOptions {
  host?: string;
  /** 0 picks a free port; read `url` after start(). */
  port: number;
  /** Snapshot path; side files `<stateFile>.meta.json` and `.txlog.ndjson` sit next to it. Omit for an in-memory ledger. */
  stateFile?: string;
  logger: Logger;
  /** Delay between a state change and its save (default 100 ms). */
  saveDebounceMs?: number;
  /** Signatures LiteSVM keeps for duplicate detection and crash reconciliation (default 20,000). */
  historyCapacity?: number;
}

export interface LocalLedger {
  /** `http://host:port` of the JSON-RPC endpoint; empty until start() resolves. */
  readonly url: string;
  start(): Promise<void>;
  /** Stops serving (ending hung requests), then writes a final snapshot. */
  stop(): Promise<void>;
  /** Test hook: jump n blocks ahead, expiring blockhashes older than 150 blocks. */
  advanceBlocks(n: number): Promise<void>;
  /** Test hook: hold the current slot (no new block) until called with false. */
  holdSlot(on: boolean): void;
  /** Test hook: fault injection per JSON-RPC call; null restores normal service. */
  setFault(fn: FaultFn | null): void;
  /** Writes any pending state now (normally done ≤ saveDebounceMs after each change). */
  flush(): Promise<void>;
  blockHeight(): number;
  transactionCount(): number;
}

/**
 * An embedded Solana ledger: LiteSVM (real SPL Token / ATA / Memo programs) behind a JSON-RPC
 * HTTP endpoint, so the production web3.js client code runs unchanged against it.
 */
export function createLocalLedger(opts: LocalLedgerOptions): LocalLedger {
  const log = opts.logger.child({ component: 'ledger' });
  const files = opts.stateFile ? new LedgerFiles(opts.stateFile) : null;
  const debounceMs = opts.saveDebounceMs ?? 100;
  let url = '';
  let engine: LedgerEngine | null = null;
  let server: ReturnType<typeof createRpcServer> | null = null;
  let pendingFault: FaultFn | null = null;
  let genesis: Uint8Array = new Uint8Array();
  let logLines = 0;
  let timer: NodeJS.Timeout | null = null;
  let chain: Promise<void> = Promise.resolve();

  const need = (): LedgerEngine => {
    if (!engine) throw new Error('ledger not started');
    return engine;
  };

  /** One save: the batch and the snapshot bytes are taken in the same tick so they agree. */
  const saveNow = async (force: boolean): Promise<void> => {
    const e = engine;
    if (!files || !e || (!force && !e.hasPending())) return;
    const batch = e.takePending();
    const bytes = e.svm.toBytes();
    const clock = e.clock.state();
    try {
      await files.appendRecords(batch.map((b) => b.rec));
      logLines += batch.length;
      await files.writeSnapshot(bytes);
      await files.writeMeta({ version: 1, genesisHash: bs58.encode(genesis), clock, committedRecords: logLines, savedAt: new Date().toISOString() });
      e.committed(batch);
    } catch (err) {
      log.error({ err, txs: batch.length }, 'ledger save failed; will retry');
      e.requeue(batch);
      scheduleSave();
    }
  };

  const enqueue = (force: boolean): Promise<void> => {
    chain = chain.then(() => saveNow(force));
    return chain;
  };

  const scheduleSave = (): void => {
    if (!files || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void enqueue(false);
    }, debounceMs);
  };

  const load = async (): Promise<{ svm: LiteSVM; clock: ClockState; records: TxRecord[]; snapshotSlot: number }> => {
    if (!files?.hasSnapshot()) {
      const svm = new LiteSVM();
      genesis = randomBytes(32);
      const slot = Number(svm.getClock().slot);
      return { svm, clock: { baseSlot: slot, baseTime: Date.now(), lastSlot: slot }, records: [], snapshotSlot: slot };
    }
    const svm = LiteSVM.loadFromFile(files.stateFile);
    const meta = files.readMeta();
    const snapshotSlot = Number(svm.getClock().slot);
    genesis = meta ? bs58.decode(meta.genesisHash) : randomBytes(32);
    const clock = meta?.clock ?? { baseSlot: snapshotSlot, baseTime: Date.now(), lastSlot: snapshotSlot };
    clock.lastSlot = Math.max(clock.lastSlot, snapshotSlot); // height never goes backwards
    const { records: all, torn } = files.readRecords();
    const committed = Math.min(meta?.committedRecords ?? 0, all.length);
    // Lines past the committed mark were written just before a crash: keep them only if the
    // snapshot actually contains the transaction.
    const tail = all.slice(committed).filter((r) => svm.getTransaction(r.sig as never) !== null);
    const records = [...all.slice(0, committed), ...tail];
    if (torn > 0 || records.length !== all.length) {
      log.warn({ dropped: all.length - records.length, torn }, 'discarding tx-log lines not covered by the snapshot');
      await files.rewriteRecords(records);
    }
    return { svm, clock, records, snapshotSlot };
  };

  return {
    get url() {
      return url;
    },
    async start() {
      if (engine) return;
      const { svm, clock, records, snapshotSlot } = await load();
      // LiteSVM only accepts its single latest blockhash; SlotClock enforces the 150-block window.
      svm.withBlockhashCheck(false).withTransactionHistory(BigInt(opts.historyCapacity ?? 20_000));
      const e = new LedgerEngine(svm, new SlotClock(genesis, clock), snapshotSlot, !files);
      e.restore(records);
      logLines = records.length;
      engine = e;
      if (files) await enqueue(true); // persists genesis/clock of a fresh ledger, re-anchors a restored one
      server = createRpcServer(createRpcMethods(e), log, {
        afterCall: (method) => {
          if (method === 'sendTransaction' || method === 'requestAirdrop') scheduleSave();
        },
      });
      server.setFault(pendingFault);
      url = await server.listen(opts.host ?? '127.0.0.1', opts.port);
      log.info({ url, stateFile: opts.stateFile ?? null, blockHeight: e.slot(), restoredTxs: records.length }, 'local ledger started');
    },
    async stop() {
      if (!engine) return;
      if (timer) clearTimeout(timer);
      timer = null;
      await server?.close();
      server = null;
      await enqueue(true);
      log.info({ blockHeight: engine.slot(), txs: engine.txCount }, 'local ledger stopped');
      engine = null;
      url = '';
    },
    async advanceBlocks(n) {
      const e = need();
      e.clock.advance(n);
      e.slot();
      await enqueue(true); // anchor the jump on disk so a restart cannot fall behind it
    },
    holdSlot(on) {
      need().clock.held = on;
    },
    setFault(fn) {
      pendingFault = fn;
      server?.setFault(fn);
    },
    flush: () => enqueue(true),
    blockHeight: () => need().slot(),
    transactionCount: () => need().txCount,
  };
}
