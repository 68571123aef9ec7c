import type { Logger } from 'pino';
import type { EvaluationLimits } from '../domain/evaluate.js';
import { outcomeCode, type Outcome } from '../domain/outcome.js';
import type { Metrics } from '../metrics/registry.js';
import { sleep } from '../lib/retry.js';
import { ping, type Pool } from '../store/pool.js';
import { writeBatch, type WriteItem } from './batch-writer.js';
import type { Verdict } from './evaluate-batch.js';
import { withRetry, type RetryHooks } from './failure.js';
import { IngestCounters } from './ingest-counters.js';
import type { MeterCache } from './meter-cache.js';
import { Backlog } from './backlog.js';
import { SeenThrottle } from './seen-throttle.js';
import type { IngestMessage, IngestSink } from './types.js';
import type { Verifier } from './verifier.js';
import { verifyChunk, type VerifyStageDeps } from './verify-stage.js';

export interface PipelineOptions {
  /** most messages in one write transaction */
  batchMax: number;
  /** how long a message may wait for others to join its verification chunk (0 = next event-loop turn) */
  batchWaitMs: number;
  maxPending: number;
  limits: EvaluationLimits;
}

/** A verification chunk: messages in arrival order and, once verified, their verdicts. */
interface Chunk {
  msgs: IngestMessage[];
  verdicts: Verdict[] | null;
  dispatchedAt: number;
}

// Most messages sent to one verify worker at once: big enough to amortise postMessage, small
// enough that no chunk keeps a worker busy long while others wait behind it.
const CHUNK_MAX = 100;
// Write transactions open at once. Two overlapping transactions measured no better than one on
// 2 cores (the commit path is not the bottleneck; CPU is), and one keeps the meters rows' FK
// KEY SHARE locks single-holder. The ack chain below keeps PUBACK order for any value.
const MAX_WRITES = 1;
// Attempts an unrecognised error gets on a whole chunk or batch before it is split to find the message.
const UNKNOWN_TRIES = 5;

/**
 * receive → bounded queue → verify (workers, small chunks) → group commit → acks (in order) → status.
 *
 * - `unanswered` (backlog.ts) counts messages received but not yet answered; beyond `maxPending` submit() refuses,
 *   so memory stays bounded while Postgres is away (transports then refuse or stop reading).
 * - Verification starts when a verifier slot is free (two per worker) and the queue holds a full
 *   chunk or has waited batchWaitMs; under load the queue grows while slots are busy, chunks grow.
 * - Writes are group commits: when a write slot is free, everything verified so far (up to
 *   batchMax) goes into one transaction. Light load → small, fast transactions; heavy load →
 *   large ones, because messages pile up while the previous commit runs.
 * - A message's `done` runs only after the commit of its batch, and batches are acknowledged in
 *   arrival order even when two transactions overlap, so PUBACKs for one connection stay in order.
 * - A step that fails transiently (database away, deadlock) is retried with backoff (100 ms → 5 s)
 *   until it succeeds or the pipeline is aborted at shutdown; nothing is dropped and nothing is
 *   acknowledged meanwhile. A step that fails because of what a message contains is split until
 *   that message is alone, which is then quarantined and acknowledged (see failure.ts).
 * - Each message's time in each stage is a sample of gridmint_ingest_stage_seconds.
 */
export class IngestPipeline implements IngestSink {
  private queue: IngestMessage[] = [];
  private readonly unanswered = new Backlog();
  /** chunks dispatched for verification, in arrival order; the head leaves when verified */
  private verifying: Chunk[] = [];
  private verifySlotsUsed = 0;
  /** verified messages waiting for a write slot, in arrival order */
  private ready: WriteItem[] = [];
  private readyMsgs: IngestMessage[] = [];
  private writesOpen = 0;
  private ackTail: Promise<void> = Promise.resolve();
  private inFlight = new Set<IngestMessage[]>();
  private dispatchTimer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private readonly seen = new SeenThrottle();
  private aborted = false; // stop() gave up: nothing more is written
  private stopping = false;
  private readonly verifySlots: number;
  private readonly workers: number;
  private readonly counters: IngestCounters;
  private readonly log: Logger;
  private readonly hooks: RetryHooks;
  private readonly verifyDeps: VerifyStageDeps;

  constructor(
    private readonly pool: Pool,
    private readonly cache: MeterCache,
    private readonly verifier: Verifier,
    private readonly metrics: Metrics,
    logger: Logger,
    private readonly opts: PipelineOptions,
  ) {
    this.log = logger.child({ component: 'ingest' });
    this.workers = Math.max(1, verifier.workers);
    this.verifySlots = this.workers * 2;
    this.counters = new IngestCounters(metrics);
    this.hooks = {
      aborted: () => this.aborted,
      failed: (operation, attempt, kind, err) => {
        this.metrics.dbErrors.inc({ operation });
        if (attempt === 1 || attempt % 20 === 0) {
          this.log.warn({ operation, attempt, kind, err: (err as Error)?.message, pending: this.unanswered.count }, 'ingest step failed; holding acknowledgements');
        }
      },
      recovered: (operation, attempts) => this.log.info({ operation, attempts }, 'ingest recovered; acknowledging again'),
      databaseAnswers: () => ping(pool),
    };
    this.verifyDeps = { cache, verifier, limits: opts.limits, log: this.log, hooks: this.hooks, unknownTries: UNKNOWN_TRIES };
  }

  get accepting(): boolean {
    return !this.stopping;
  }

  submit(msg: IngestMessage): boolean {
    if (this.stopping || this.unanswered.count >= this.opts.maxPending) return false;
    this.counters.received(msg.source);
    // A transport bug must not hand a string (or anything else) to code that expects bytes.
    const payload = Buffer.isBuffer(msg.payload) ? msg.payload : Buffer.from(typeof msg.payload === 'string' ? msg.payload : String(msg.payload));
    // The pipeline's own copy: the caller's done is wrapped (answered once, pending counted), never replaced.
    let answered = false;
    const own: IngestMessage = {
      ...msg,
      payload,
      done: (r) => {
        if (answered) return;
        answered = true;
        this.unanswered.answered();
        try {
          msg.done(r); // a transport's callback failing must not leave the rest of its batch unanswered
        } catch (err) {
          this.log.error({ err }, 'answering a message failed');
        }
      },
    };
    this.unanswered.count++;
    this.queue.push(own);
    this.scheduleDispatch();
    return true;
  }

  readonly whenRoom = (): Promise<void> => this.unanswered.whenBelow(this.opts.maxPending);
  readonly whenBelow = (limit: number): Promise<void> => this.unanswered.whenBelow(limit);
  get backlog(): number {
    return this.unanswered.count;
  }

  private scheduleDispatch(): void {
    if (this.dispatchTimer || this.verifySlotsUsed >= this.verifySlots) return;
    const run = () => {
      this.dispatchTimer = null;
      this.dispatch();
    };
    // A full chunk has nothing to wait for; a short one waits batchWaitMs for company.
    const wait = this.queue.length >= CHUNK_MAX ? 0 : this.opts.batchWaitMs;
    this.dispatchTimer = wait > 0 ? setTimeout(run, wait) : setImmediate(run);
  }

  /**
   * Cuts what is queued into chunks for the free verifier slots, spread evenly but over no more
   * slots than there are workers: a second chunk for the same worker only waits behind the first,
   * and every chunk costs a postMessage each way (measured as the main thread's largest single
   * cost at a few thousand readings a second, when chunks were cut over all four slots).
   */
  private dispatch(): void {
    this.metrics.ingestPending.set(this.unanswered.count);
    while (this.queue.length && this.verifySlotsUsed < this.verifySlots) {
      const free = this.verifySlots - this.verifySlotsUsed;
      const size = Math.min(CHUNK_MAX, Math.ceil(this.queue.length / Math.min(free, this.workers)));
      const chunk: Chunk = { msgs: this.queue.splice(0, size), verdicts: null, dispatchedAt: Date.now() };
      for (const m of chunk.msgs) this.counters.stage('queued', chunk.dispatchedAt - m.receivedAt);
      this.verifying.push(chunk);
      this.inFlight.add(chunk.msgs);
      this.verifySlotsUsed++;
      void verifyChunk(chunk.msgs, this.verifyDeps).then(
        (verdicts) => {
          chunk.verdicts = verdicts;
          this.counters.stage('verify', Date.now() - chunk.dispatchedAt, verdicts.length);
          this.verifySlotsUsed--;
          this.collectVerified();
          if (this.queue.length) this.scheduleDispatch();
        },
        (err: Error) => this.fail(chunk.msgs, err), // aborted at shutdown
      );
    }
  }

  /** Moves verified chunks, in arrival order, to the write stage. */
  private collectVerified(): void {
    if (this.aborted) return; // stop() already failed these; nothing new is written after giving up
    while (this.verifying.length && this.verifying[0]!.verdicts) {
      const chunk = this.verifying.shift()!;
      this.inFlight.delete(chunk.msgs);
      const verifiedAt = Date.now();
      chunk.msgs.forEach((m, i) => {
        this.ready.push({ source: m.source, topic: m.topic, payload: m.payload, receivedAt: m.receivedAt, verifiedAt, verdict: chunk.verdicts![i]! });
        this.readyMsgs.push(m);
      });
    }
    this.pumpWrites();
  }

  private pumpWrites(): void {
    while (this.ready.length && this.writesOpen < MAX_WRITES) {
      const items = this.ready.splice(0, this.opts.batchMax);
      const batch = this.readyMsgs.splice(0, items.length);
      this.inFlight.add(batch);
      this.writesOpen++;
      const seen = this.seen.due(items);
      const writeAt = Date.now();
      for (const it of items) this.counters.stage('write_wait', writeAt - it.verifiedAt);
      const committed = writeBatch(items, seen, {
        pool: this.pool,
        log: this.log,
        attempt: (operation, fn, tries) => withRetry(operation, fn, tries, this.hooks),
        unknownTries: UNKNOWN_TRIES,
        dropped: (reason) => this.metrics.ingestDropped.inc({ reason }),
      });
      committed.then(
        () => {
          this.counters.stage('write', Date.now() - writeAt, items.length);
          this.writesOpen--;
          this.pumpWrites();
        },
        () => this.writesOpen--,
      );
      // Acknowledge strictly in arrival order: a later batch that commits first waits for earlier ones.
      this.ackTail = this.ackTail
        .then(() =>
          committed.then(
            (results) => {
              this.inFlight.delete(batch);
              this.complete(batch, results);
            },
            (err: Error) => this.fail(batch, err),
          ),
        )
        .catch((err: Error) => this.log.error({ err }, 'acknowledging a committed batch failed')); // never break the chain
    }
  }

  private complete(batch: IngestMessage[], results: Outcome[]): void {
    const now = Date.now();
    this.metrics.ingestBatchSize.observe(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const m = batch[i]!;
      const r = results[i]!;
      this.metrics.ingestCommitSeconds.observe((now - m.receivedAt) / 1000);
      this.counters.outcome(m.source, outcomeCode(r), r.ok ? r.notes : undefined);
      m.done(r);
    }
    this.metrics.ingestPending.set(this.unanswered.count);
  }

  /** Only reached when aborted at shutdown: nothing was committed for sure, so nothing is acked. */
  private fail(batch: IngestMessage[], err: Error): void {
    this.inFlight.delete(batch);
    for (const m of batch) m.done(err);
  }

  /**
   * Stop taking messages and flush what is queued. After `timeoutMs` (e.g. the database is down)
   * the rest is failed — not acknowledged — so senders retry against the next instance.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    const deadline = Date.now() + timeoutMs;
    while (this.unanswered.count > 0 && Date.now() < deadline) {
      this.scheduleDispatch();
      await sleep(20);
    }
    if (this.unanswered.count > 0) {
      this.log.warn({ pending: this.unanswered.count }, 'shutdown: giving up on unacknowledged messages (they will be redelivered)');
      this.aborted = true;
      for (const m of this.queue.splice(0)) m.done(new Error('gateway shutting down'));
      for (const m of this.readyMsgs.splice(0)) m.done(new Error('gateway shutting down'));
      this.ready = [];
      for (const batch of this.inFlight) for (const m of batch) m.done(new Error('gateway shutting down'));
    }
    if (this.dispatchTimer) {
      clearTimeout(this.dispatchTimer as NodeJS.Timeout);
      clearImmediate(this.dispatchTimer as NodeJS.Immediate);
    }
    await this.verifier.close();
  }
}
