import type { EvaluationLimits, MeterSnapshot } from '../../domain/evaluate.js';
import type { Verdict } from '../evaluate-batch.js';

/** Which topic (or HTTP route) a message came in on. */
export type Channel = 'readings' | 'ocmf';

export interface FormatInput {
  /** the meter the message is addressed to (topic or HTTP body); null when none is named */
  meterId: string | null;
  payload: Uint8Array;
  receivedAt: number;
}

/**
 * One wire format: parse → verify → derive reads, as a pure function of the bytes, the meter's
 * registration and the receipt clock. The verdict says what to store; energy is derived later,
 * against the meter's stored reads, in the write transaction. A new format is one file like these.
 */
export interface MessageFormat {
  readonly name: 'interval' | 'register' | 'ocmf';
  evaluate(input: FormatInput, meter: MeterSnapshot | null, limits: EvaluationLimits): Verdict;
}
