import type { EvaluationLimits, MeterSnapshot } from '../domain/evaluate.js';
import type { Refusal } from '../domain/outcome.js';
import { formatFor, type Channel } from './formats/index.js';

/** One message as sent to a verifier (main thread or worker): only what evaluation needs. */
export interface VerifyItem {
  /** the meter the transport says the message is for (see Route in types.ts); null: none named */
  meterId: string | null;
  payload: Uint8Array;
  receivedAt: number;
  /** absent = the readings topic */
  channel?: Channel;
}

export interface VerifyJob {
  items: VerifyItem[];
  /** snapshots of the meters the batch's messages are addressed to (absent = not registered) */
  meters: Record<string, MeterSnapshot>;
  limits: EvaluationLimits;
}

/** Register reads a message carries (register JSON: one; OCMF: one per matching RD entry). */
export interface RegisterPayload {
  reads: { timestamp: string; registerKwh: string }[];
  page: { type: 'T' | 'F'; counter: number } | null;
  /** keep the signed bytes with the reads (OCMF: the record is the proof) */
  keepRecord: boolean;
}

/** A message that passed every check of its format, ready for the store. */
export interface Verified {
  ok: true;
  meterId: string;
  wallet: string;
  kwh: string;
  timestamp: string;
  signature: string;
  register?: RegisterPayload;
}

/**
 * What verification decides: a verified message (its outcome is known only after the store), or
 * a refusal — already the final Outcome's refusal branch. Structured-clone friendly (no bigint
 * needed downstream: kWh stays a decimal string).
 */
export type Verdict = Verified | Refusal;

/** Reads each message with its format (interval JSON, register JSON or OCMF), against its own receipt time. */
export function evaluateBatch(job: VerifyJob): Verdict[] {
  return job.items.map((item) => {
    const meter = item.meterId === null ? null : (job.meters[item.meterId] ?? null);
    return formatFor(item.channel ?? 'readings', meter).evaluate(item, meter, job.limits);
  });
}

/**
 * A VerifyJob as it crosses to a worker: all payloads copied into one buffer that is transferred,
 * not cloned. A payload from an MQTT parser is a view into the socket's read chunk, and structured
 * clone copies a view's whole underlying ArrayBuffer, i.e. up to tens of KiB per 300-byte reading.
 */
export interface PackedJob {
  meterIds: (string | null)[];
  channels: (Channel | undefined)[];
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
  const packed = { meterIds: job.items.map((x) => x.meterId), channels: job.items.map((x) => x.channel), receivedAt, lengths, bytes, meters: job.meters, limits: job.limits };
  return { packed, transfer: [bytes.buffer, lengths.buffer, receivedAt.buffer] as ArrayBuffer[] };
}

export function unpackJob(p: PackedJob): VerifyJob {
  let offset = 0;
  const items = p.meterIds.map((meterId, i) => {
    const payload = p.bytes.subarray(offset, offset + p.lengths[i]!);
    offset += p.lengths[i]!;
    return { meterId, payload, receivedAt: p.receivedAt[i]!, channel: p.channels[i] };
  });
  return { items, meters: p.meters, limits: p.limits };
}
