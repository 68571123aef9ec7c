import type { Counter, Histogram } from 'prom-client';
import type { IngestOutcome, RegisterNote } from '../domain/reasons.js';
import type { Metrics } from '../metrics/registry.js';
import type { Transport } from './types.js';

type Child = ReturnType<Counter<string>['labels']>;
type HistogramChild = ReturnType<Histogram<string>['labels']>;

/**
 * The stages of a message in the pipeline: waiting for a verifier (`queued`), in a verification
 * chunk (`verify`), verified and waiting for a write transaction (`write_wait`), in it (`write`).
 */
export type Stage = 'queued' | 'verify' | 'write_wait' | 'write';
export const STAGES: readonly Stage[] = ['queued', 'verify', 'write_wait', 'write'];

/**
 * The per-message counters with their label children bound once: `counter.inc({ label })` hashes
 * the label object on every call, which at thousands of readings a second is measurable on the
 * event loop that also runs the broker.
 */
export class IngestCounters {
  private readonly receivedBy: Record<Transport, Child>;
  private readonly acceptedBy: Record<Transport, Child>;
  private readonly rejectedBy = new Map<string, Child>();
  private readonly stages = {} as Record<Stage, HistogramChild>;

  constructor(private readonly metrics: Metrics) {
    this.receivedBy = { mqtt: metrics.readingsReceived.labels('mqtt'), http: metrics.readingsReceived.labels('http') };
    this.acceptedBy = { mqtt: metrics.readingsAccepted.labels('mqtt'), http: metrics.readingsAccepted.labels('http') };
    for (const s of STAGES) {
      metrics.ingestStageSeconds.zero({ stage: s }); // exported from the start: a panel shows 0, not "no data"
      this.stages[s] = metrics.ingestStageSeconds.labels(s);
    }
  }

  /** `messages` messages spent `ms` in `stage` (gridmint_ingest_stage_seconds, one sample each). */
  stage(stage: Stage, ms: number, messages = 1): void {
    const child = this.stages[stage];
    for (let i = 0; i < messages; i++) child.observe(ms / 1000);
  }

  received(transport: Transport): void {
    this.receivedBy[transport].inc();
  }

  outcome(transport: Transport, outcome: IngestOutcome, notes?: readonly RegisterNote[]): void {
    for (const event of notes ?? []) this.metrics.registerEvents.inc({ event });
    if (outcome === 'accepted') return this.acceptedBy[transport].inc();
    if (outcome === 'duplicate') return this.metrics.readingsDuplicate.inc();
    let child = this.rejectedBy.get(outcome);
    if (!child) {
      child = this.metrics.readingsRejected.labels(outcome);
      this.rejectedBy.set(outcome, child);
    }
    child.inc();
  }
}
