import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { envelopeProblem, parseReadingJson, schemaProblem, type EvaluationLimits, type MeterSnapshot } from './evaluate.js';
import type { KeyDecoder } from './keys.js';
import { envelopeProperties, MAX_PAYLOAD_BYTES } from './reading.js';
import type { CheckRefusal } from './outcome.js';
import type { RejectReason } from './reasons.js';

/**
 * The register variant of the v1 contract: same topic, same fields and signature rule, but
 * `register_kwh` (the register's value at `timestamp`, ≥ 0) instead of `kwh_amount`.
 */
export interface SignedRegisterReading {
  meter_id: string;
  timestamp: string;
  register_kwh: string;
  wallet_address: string;
  signature: string;
}

export const registerReadingSchema = {
  $id: 'gridmint/register-reading-v1',
  type: 'object',
  additionalProperties: false,
  required: ['meter_id', 'timestamp', 'register_kwh', 'wallet_address', 'signature'],
  properties: {
    meter_id: envelopeProperties.meter_id,
    timestamp: envelopeProperties.timestamp,
    register_kwh: { type: 'string', pattern: '^(0|[1-9][0-9]{0,10})(\\.[0-9]{1,9})?$' },
    wallet_address: envelopeProperties.wallet_address,
    signature: envelopeProperties.signature,
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: true });
addFormats.default(ajv, ['date-time']);
const validate = ajv.compile<SignedRegisterReading>(registerReadingSchema);

export type RegisterEvaluation = { ok: true; reading: SignedRegisterReading } | CheckRefusal;

/** Stale/future window for one read's time (shared by register JSON and OCMF). */
export function timeProblem(iso: string, nowMs: number, limits: EvaluationLimits): Pick<CheckRefusal, 'reason' | 'detail'> | null {
  const ts = Date.parse(iso);
  if (Number.isNaN(ts)) return { reason: 'invalid_payload', detail: '/timestamp: not a valid date' };
  if (ts < nowMs - limits.maxAgeMs) return { reason: 'stale', detail: `timestamp ${iso}` };
  if (ts > nowMs + limits.maxFutureMs) return { reason: 'future_timestamp', detail: `timestamp ${iso}` };
  return null;
}

/** The same checks, in the same order, as evaluateReading; energy is judged later, against the stored reads. */
export function evaluateRegisterReading(
  claimedMeterId: string | null,
  payload: Uint8Array,
  meter: MeterSnapshot | null,
  nowMs: number,
  limits: EvaluationLimits,
  /** the verifier's cached base58 decoding of meter keys (default: decode every time) */
  decodeKey?: KeyDecoder,
): RegisterEvaluation {
  const reject = (reason: RejectReason, detail: string, meterId: string | null): CheckRefusal => ({ ok: false, reason, detail, meterId });
  if (payload.byteLength > MAX_PAYLOAD_BYTES) return reject('too_large', `${payload.byteLength} bytes`, claimedMeterId);
  const json = parseReadingJson(payload);
  if (!json.ok) return reject(json.reason, json.detail, claimedMeterId);
  const parsed = json.value;
  if (!validate(parsed)) return reject('invalid_payload', schemaProblem(validate.errors), claimedMeterId);
  const r = parsed;
  const envelope = envelopeProblem(r, claimedMeterId, meter, decodeKey);
  if (envelope) return envelope;
  const t = timeProblem(r.timestamp, nowMs, limits);
  if (t) return reject(t.reason, t.detail, r.meter_id);
  return { ok: true, reading: r };
}
