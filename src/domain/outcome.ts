import type { IngestOutcome, RegisterNote, RejectReason } from './reasons.js';

/**
 * What happened to one message: the one outcome type, from the transports through verification
 * and the store to the MQTT status message, the HTTP answer and the metrics. `ok` tells a stored
 * message (accepted, or a duplicate of a stored one) from a refusal (quarantined with a reason).
 *
 * Stages fill in what they know. A check knows only a refusal (`CheckRefusal`, below); the store
 * knows what it stored (`Stored`); the batch writer completes both into an `Outcome` after the
 * COMMIT, and only a complete `Outcome` is handed back to a transport.
 */
export type Outcome = Accepted | Refusal;

export interface Accepted {
  ok: true;
  outcome: 'accepted' | 'duplicate';
  /** the meter the reading belongs to */
  meterId: string;
  /** meter_readings.id (register reads: the message's first read) */
  readingId: string;
  timestamp: string;
  /** register reads: what the stored read tells the operator (the notes, comma-separated), else null */
  detail: string | null;
  notes: RegisterNote[];
}

export interface Refusal {
  ok: false;
  reason: RejectReason;
  /** the meter the refusal concerns (the topic's, the authenticated client's or the payload's); null when none is known */
  meterId: string | null;
  /** the message's timestamp when it could be read (best effort, for the status message) */
  timestamp: string | null;
  /** what the sender is told; null when it would only echo an internal error */
  detail: string | null;
}

/** A refusal as a pure check finds it: before anything knows the message's timestamp. */
export type CheckRefusal = Omit<Refusal, 'timestamp' | 'detail'> & { detail: string };

/**
 * What the store decided for one verified message — stored (with its id) or refused (conflict,
 * implausible register rise, …) — before the batch writer adds the meter and timestamp.
 */
export type Stored = Omit<Accepted, 'meterId' | 'timestamp'> | (Omit<Refusal, 'meterId' | 'timestamp' | 'detail'> & { detail: string });

/** The outcome's code: what metrics label and the reason catalogue key on. */
export function outcomeCode(o: Pick<Accepted, 'ok' | 'outcome'> | Pick<Refusal, 'ok' | 'reason'>): IngestOutcome {
  return o.ok ? o.outcome : o.reason;
}
