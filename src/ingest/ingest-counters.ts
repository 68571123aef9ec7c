import type { Counter } from 'prom-client';
import type { IngestOutcome, RegisterNote } from '../domain/reasons.js';
import type { Metrics } from '../metrics/registry.js';
import type { Transport } from './types.js';

type Child = ReturnType<Counter<string>['labels']>;

/**
 * The per-message counters with their label children bound once: `counter.inc({ label })` hashes
 * the label object on every call, which at thousands of readings a second is measurable on the
 * event loop that also runs the broker.
 */
export class IngestCounters {
  private readonly receivedBy: Record<Transport, Child>;
  private readonly acceptedBy: Record<Transport, Child>;
  private readonly rejectedBy = new Map<string, Child>();

  constructor(private readonly metrics: Metrics) {
    this.receivedBy = { mqtt: metrics.readingsReceived.labels('mqtt'), http: metrics.readingsReceived.labels('http') };
    this.acceptedBy = { mqtt: metrics.readingsAccepted.labels('mqtt'), http: metrics.readingsAccepted.labels('http') };
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
