import type { IngestOutcome, RegisterNote, RejectReason } from '../domain/reasons.js';

export type Transport = 'mqtt' | 'http';

/** What happened to one message, known only after its batch committed. */
export interface IngestResult {
  outcome: IngestOutcome;
  /** the meter the result concerns (authenticated or from the topic); null when unknown */
  meterId: string | null;
  /** meter_readings.id for accepted and duplicate readings (and the stored one for a conflict) */
  readingId: string | null;
  timestamp: string | null;
  detail: string | null;
  /** register reads: what a stored read tells the operator (register_regression, late_read, …) */
  notes?: RegisterNote[];
}

/**
 * One message handed to the pipeline by a transport. `done` is called exactly once: with the
 * result after the commit that made it durable, or with an Error when the gateway gave up on it
 * (shutting down) — then it must NOT be acknowledged, the sender will retry.
 */
export interface IngestMessage {
  source: Transport;
  topic: string;
  payload: Buffer;
  /** epoch ms of receipt; also the clock the stale/future checks use, so an outage never ages a reading */
  receivedAt: number;
  /**
   * the meter id the topic names; null when the topic is not a readings topic. HTTP has no topic:
   * it passes the payload's own meter_id, or '' when there is none (evaluation then refuses it).
   */
  topicMeterId: string | null;
  /** the topic's kind: absent = meters/{id}/readings; 'ocmf' = meters/{id}/ocmf (or POST submit-ocmf) */
  channel?: 'readings' | 'ocmf';
  /** set by a transport that already refused the message (e.g. forbidden_topic): quarantine only */
  refused?: { reason: RejectReason; detail: string; meterId: string | null };
  done: (result: IngestResult | Error) => void;
}

/** The pipeline as transports see it. */
export interface IngestSink {
  /** false when the pending limit is reached: the transport must refuse (never acknowledge) */
  submit(msg: IngestMessage): boolean;
  /** resolves when there is room again after a refusal */
  whenRoom(): Promise<void>;
  readonly accepting: boolean;
}

/** JSON published to meters/{id}/status (QoS 0) for every result a meter should learn about. */
export function statusPayload(r: IngestResult): Buffer {
  const ok = r.outcome === 'accepted' || r.outcome === 'duplicate';
  return Buffer.from(
    JSON.stringify({
      timestamp: r.timestamp,
      outcome: ok ? r.outcome : 'rejected',
      reason: ok ? null : r.outcome,
      detail: r.detail,
      reading_id: r.readingId && ok ? r.readingId : null,
    }),
  );
}
