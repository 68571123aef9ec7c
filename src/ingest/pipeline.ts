import type { Logger } from 'pino';
import type { EvaluationLimits, MeterSnapshot } from '../domain/evaluate.js';
import type { Metrics } from '../metrics/registry.js';
import type { Pool } from '../store/pool.js';
import { writeBatch, type WriteItem } from './batch-writer.js';
import type { Verdict } from './evaluate-batch.js';
import type { MeterCache } from './meter-cache.js';
import type { IngestMessage, IngestResult, IngestSink } from './types.js';
import type { Verifier } from './verifier.js';

export interface PipelineOptions {
  batchMax: number;
  batchWaitMs: number;
  maxPending: number;
  limits: EvaluationLimits;
}

const SEEN_THROTTLE_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * receive → bounded queue → batch → verify (workers) → one transaction → acks → status.
 *
 * - `pending` counts messages received but not yet answered; beyond `maxPending` submit() refuses,
 *   so memory stays bounded while Postgres is away (transports then refuse or stop reading).
 * - Up to workers+4 batches are in flight: verification of batch N+1 overlaps the write of N,
 *   but writes run one at a time, and a message's `done` runs only after the
 *   commit of its batch — that is what makes a PUBACK / HTTP 201 mean "durably stored".
 * - A failing database step is retried with backoff (100 ms → 5 s) until it succeeds or the
 *   pipeline is aborted at shutdown; nothing is dropped and nothing is acknowledged meanwhile.
 */
export class IngestPipeline implements IngestSink {
  private queue: IngestMessage[] = [];
  private pending = 0;
  private inFlight = new Set<IngestMessage[]>();
  private timer: NodeJS.Timeout | null = null;
  private writeTail: Promise<void> = Promise.resolve();
  private seen = new Map<string, number>();
  private roomWaiters: (() => void)[] = [];
  private aborted = false;
  private stopping = false;
  private readonly maxBatches: number;
  private readonly log: Logger;
  /** false while the database is failing; readiness and the status line read it */
  databaseHealthy = true;

  constructor(
    private readonly pool: Pool,
    private readonly cache: MeterCache,
    private readonly verifier: Verifier,
    private readonly metrics: Metrics,
    logger: Logger,
    private readonly opts: PipelineOptions,
  ) {
    this.log = logger.child({ component: 'ingest' });
    this.maxBatches = verifier.workers + 4;
  }

  get accepting(): boolean {
    return !this.stopping;
  }

  get pendingCount(): number {
    return this.pending;
  }

  submit(msg: IngestMessage): boolean {
    if (this.stopping || this.pending >= this.opts.maxPending) return false;
    this.metrics.readingsReceived.inc({ transport: msg.source });
    let answered = false;
    const done = msg.done;
    msg.done = (r) => {
      if (answered) return;
      answered = true;
      this.pending--;
      this.metrics.ingestPending.set(this.pending);
      done(r);
      if (this.roomWaiters.length && this.pending < this.opts.maxPending) for (const w of this.roomWaiters.splice(0)) w();
    };
    this.pending++;
    this.metrics.ingestPending.set(this.pending);
    this.queue.push(msg);
    this.schedule();
    return true;
  }

  whenRoom(): Promise<void> {
    if (this.pending < this.opts.maxPending) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private schedule(): void {
    while (this.queue.length && this.inFlight.size < this.maxBatches && (this.queue.length >= this.opts.batchMax || this.stopping)) {
      this.cut();
    }
    if (this.queue.length && !this.timer && this.inFlight.size < this.maxBatches) {
      this.timer = setTimeout(() => {
        this.timer = null;
        if (this.queue.length && this.inFlight.size < this.maxBatches) this.cut();
        this.schedule();
      }, this.opts.batchWaitMs);
    }
  }

  private cut(): void {
    const batch = this.queue.splice(0, this.opts.batchMax);
    this.inFlight.add(batch);
    void this.process(batch).finally(() => {
      this.inFlight.delete(batch);
      // What queued up while every slot was busy has already waited: cut it now, not after another timer.
      if (this.queue.length && this.inFlight.size < this.maxBatches) this.cut();
      this.schedule();
    });
  }

  private async process(batch: IngestMessage[]): Promise<void> {
    try {
      const verdicts = await this.retry('meter_lookup', () => this.verify(batch));
      const items: WriteItem[] = batch.map((m, i) => ({ source: m.source, topic: m.topic, payload: m.payload, receivedAt: m.receivedAt, verdict: verdicts[i]! }));
      const seen = this.seenMeters(verdicts);
      // Writes are chained: one transaction at a time, in the order batches finished verifying.
      const write = this.writeTail.then(() => this.retry('ingest_write', () => writeBatch(this.pool, items, seen, this.log)));
      this.writeTail = write.then(() => undefined, () => undefined);
      const results = await write;
      this.complete(batch, results);
    } catch (err) {
      // Only reached when aborted at shutdown: nothing was committed for sure, so nothing is acked.
      for (const m of batch) m.done(err as Error);
    }
  }

  private async verify(batch: IngestMessage[]): Promise<Verdict[]> {
    const ids = batch.filter((m) => !m.refused && m.topicMeterId).map((m) => m.topicMeterId!); // '' (HTTP, no id) needs no lookup
    const snapshots = await this.cache.getSnapshots(ids);
    const meters: Record<string, MeterSnapshot> = {};
    for (const [id, s] of snapshots) if (s) meters[id] = s;
    const toVerify = batch.filter((m) => !m.refused && m.topicMeterId !== null);
    const verdicts = toVerify.length
      ? await this.verifier.evaluate({
          items: toVerify.map((m) => ({ topicMeterId: m.topicMeterId!, payload: m.payload, receivedAt: m.receivedAt })),
          meters,
          limits: this.opts.limits,
        })
      : [];
    let k = 0;
    return batch.map((m): Verdict => {
      if (m.refused) return { ok: false, reason: m.refused.reason, detail: m.refused.detail, meterId: m.refused.meterId, timestamp: null };
      if (m.topicMeterId === null) return { ok: false, reason: 'forbidden_topic', detail: `not a readings topic: ${m.topic.slice(0, 200)}`, meterId: null, timestamp: null };
      return verdicts[k++]!;
    });
  }

  private seenMeters(verdicts: Verdict[]): string[] {
    const now = Date.now();
    const out: string[] = [];
    for (const v of verdicts) {
      if (!v.ok) continue;
      const last = this.seen.get(v.meterId) ?? 0;
      if (now - last >= SEEN_THROTTLE_MS) {
        this.seen.set(v.meterId, now);
        out.push(v.meterId);
      }
    }
    if (this.seen.size > 200_000) this.seen.clear();
    return out;
  }

  private complete(batch: IngestMessage[], results: IngestResult[]): void {
    const now = Date.now();
    this.metrics.ingestBatchSize.observe(batch.length);
    batch.forEach((m, i) => {
      const r = results[i]!;
      this.metrics.ingestCommitSeconds.observe((now - m.receivedAt) / 1000);
      if (r.outcome === 'accepted') this.metrics.readingsAccepted.inc({ transport: m.source });
      else if (r.outcome === 'duplicate') this.metrics.readingsDuplicate.inc();
      else this.metrics.readingsRejected.inc({ reason: r.outcome });
      m.done(r);
    });
  }

  private async retry<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    let delay = 100;
    for (let attempt = 1; ; attempt++) {
      try {
        const v = await fn();
        this.databaseHealthy = true;
        if (attempt > 1) {
          this.log.info({ operation, attempts: attempt }, 'ingest recovered; acknowledging again');
        }
        return v;
      } catch (err) {
        if (this.aborted) throw err;
        this.databaseHealthy = false;
        this.metrics.dbErrors.inc({ operation });
        if (attempt === 1 || attempt % 20 === 0) {
          this.log.warn({ operation, attempt, err: (err as Error).message, pending: this.pending }, 'ingest step failed; holding acknowledgements and retrying');
        }
        for (let waited = 0; waited < delay && !this.aborted; waited += 50) await sleep(50);
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  /**
   * Stop taking messages and flush what is queued. After `timeoutMs` (e.g. the database is down)
   * the rest is failed — not acknowledged — so senders retry against the next instance.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    this.schedule();
    const deadline = Date.now() + timeoutMs;
    while (this.pending > 0 && Date.now() < deadline) {
      this.schedule();
      await sleep(20);
    }
    if (this.pending > 0) {
      this.log.warn({ pending: this.pending }, 'shutdown: giving up on unacknowledged messages (they will be redelivered)');
      this.aborted = true;
      for (const m of this.queue.splice(0)) m.done(new Error('gateway shutting down'));
      for (const batch of this.inFlight) for (const m of batch) m.done(new Error('gateway shutting down'));
    }
    if (this.timer) clearTimeout(this.timer);
    await this.verifier.close();
  }
}
