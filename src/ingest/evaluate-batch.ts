import { evaluateReading, type EvaluationLimits, type MeterSnapshot } from '../domain/evaluate.js';
import type { RejectReason } from '../domain/reasons.js';

/** One message as sent to a verifier (main thread or worker): only what evaluation needs. */
export interface VerifyItem {
  topicMeterId: string;
  payload: Uint8Array;
  receivedAt: number;
}

export interface VerifyJob {
  items: VerifyItem[];
  /** snapshots of the meters named in the batch's topics (absent = not registered) */
  meters: Record<string, MeterSnapshot>;
  limits: EvaluationLimits;
}

/** Structured-clone friendly verdict (no bigint needed downstream: kWh stays a decimal string). */
export type Verdict =
  | { ok: true; meterId: string; wallet: string; kwh: string; timestamp: string; signature: string }
  | { ok: false; reason: RejectReason; detail: string; meterId: string | null; timestamp: string | null };

function timestampOf(payload: Uint8Array): string | null {
  // Best effort for the status message of a refused reading; never trusted for anything else.
  try {
    const v = JSON.parse(Buffer.from(payload).toString('utf8')) as { timestamp?: unknown };
    return typeof v.timestamp === 'string' && v.timestamp.length <= 40 ? v.timestamp : null;
  } catch {
    return null;
  }
}

/** Runs evaluateReading over a batch, each message against its own receipt time. */
export function evaluateBatch(job: VerifyJob): Verdict[] {
  return job.items.map((item) => {
    const e = evaluateReading(item.topicMeterId, item.payload, job.meters[item.topicMeterId] ?? null, item.receivedAt, job.limits);
    if (e.ok) {
      const r = e.reading;
      return { ok: true, meterId: r.meter_id, wallet: r.wallet_address, kwh: r.kwh_amount, timestamp: r.timestamp, signature: r.signature };
    }
    const ts = e.reason === 'too_large' ? null : timestampOf(item.payload);
    return { ok: false, reason: e.reason, detail: e.detail, meterId: e.meterId || null, timestamp: ts };
  });
}
