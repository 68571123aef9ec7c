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

/**
 * A VerifyJob as it crosses to a worker: all payloads copied into one buffer that is transferred,
 * not cloned. A payload from an MQTT parser is a view into the socket's read chunk, and structured
 * clone copies a view's whole underlying ArrayBuffer, i.e. up to tens of KiB per 300-byte reading.
 */
export interface PackedJob {
  meterIds: string[];
  receivedAt: Float64Array;
  lengths: Uint32Array;
  bytes: Uint8Array;
  meters: VerifyJob['meters'];
  limits: VerifyJob['limits'];
}

export function packJob(job: VerifyJob): { packed: PackedJob; transfer: ArrayBuffer[] } {
  const n = job.items.length;
  const lengths = new Uint32Array(n);
  const receivedAt = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += job.items[i]!.payload.byteLength;
  const bytes = new Uint8Array(total);
  let offset = 0;
  job.items.forEach((item, i) => {
    bytes.set(item.payload, offset);
    offset += item.payload.byteLength;
    lengths[i] = item.payload.byteLength;
    receivedAt[i] = item.receivedAt;
  });
  const packed = { meterIds: job.items.map((x) => x.topicMeterId), receivedAt, lengths, bytes, meters: job.meters, limits: job.limits };
  return { packed, transfer: [bytes.buffer, lengths.buffer, receivedAt.buffer] as ArrayBuffer[] };
}

export function unpackJob(p: PackedJob): VerifyJob {
  let offset = 0;
  const items = p.meterIds.map((topicMeterId, i) => {
    const payload = p.bytes.subarray(offset, offset + p.lengths[i]!);
    offset += p.lengths[i]!;
    return { topicMeterId, payload, receivedAt: p.receivedAt[i]! };
  });
  return { items, meters: p.meters, limits: p.limits };
}
