import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { canonicalBytes } from './canonical.js';
import { isValidPublicKey, verifyEd25519 } from './keys.js';
import { kwhToBaseUnits } from './kwh.js';
import { checkIntervalReading } from './plausibility.js';
import { MAX_PAYLOAD_BYTES, readingSchema, type SignedReading } from './reading.js';
import type { CheckRefusal } from './outcome.js';
import type { RejectReason } from './reasons.js';
import { findUnsafeChar } from './text.js';

/** What ingestion needs to know about the meter named in the topic. */
export interface MeterSnapshot {
  id: string;
  ownerWallet: string;
  publicKey: string;
  status: 'active' | 'suspended';
  /** the meter's interval grid: a divisor of 86,400 */
  intervalSeconds: number;
  /** rated power, kW as a decimal string (it crosses worker threads) */
  maxKw: string;
  /** register meters only (issue 10): how it reports; absent = interval JSON */
  register?: RegisterProfile;
}

export interface RegisterProfile {
  format: 'json' | 'ocmf';
  /** OCMF: the register (OBIS) to read and the serial GS must carry (publicKey is then SPKI DER hex) */
  obis: string | null;
  serial: string | null;
}

export interface EvaluationLimits {
  maxAgeMs: number;
  maxFutureMs: number;
}

export type Evaluation = { ok: true; reading: SignedReading; baseUnits: bigint } | CheckRefusal;

const ajv = new Ajv({ allErrors: false, strict: true });
addFormats.default(ajv, ['date-time']);
const validateSchema = ajv.compile<SignedReading>(readingSchema);

const utf8 = new TextDecoder('utf-8', { fatal: true });
const RAW_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/**
 * A JSON string (key or value) that decodes to NUL, a control character or a lone surrogate
 * ("\u0000", "\ud800"): valid JSON, but not text any field of a reading may hold. Iterative, so a
 * deeply nested 4 KiB document cannot exhaust the stack.
 */
function unsafeStringIn(root: unknown): string | null {
  const stack: { v: unknown; path: string }[] = [{ v: root, path: '' }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      const bad = findUnsafeChar(v);
      if (bad) return `${path || '/'}: ${bad}`;
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const bad = findUnsafeChar(k);
        if (bad) return `${path}: key with ${bad}`;
        stack.push({ v: child, path: `${path}/${k.length > 40 ? `${k.slice(0, 40)}…` : k}` });
      }
    }
  }
  return null;
}

/** The first schema error as a reason detail: "/path: what". */
export function schemaProblem(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return '/: invalid';
  const what = e.keyword === 'additionalProperties' ? `unexpected field ${String(e.params.additionalProperty)}` : e.message;
  return `${e.instancePath || '/'}: ${what}`;
}

/**
 * The checks every signed JSON variant of v1 shares, in order: the message was addressed to the
 * payload's meter, the meter is known and active, the ed25519 signature over the canonical form
 * holds, and the wallet is the meter's owner. Signature first, so an unsigned message learns
 * nothing more. `claimedMeterId`: the meter the transport says the message is for — the topic's
 * (MQTT) or the one the HTTP body names; null when nothing names a valid meter id.
 */
export function envelopeProblem(
  r: { meter_id: string; wallet_address: string; signature: string },
  claimedMeterId: string | null,
  meter: MeterSnapshot | null,
  decodeKey?: (publicKeyB58: string) => Buffer | null,
): CheckRefusal | null {
  const bad = (reason: RejectReason, detail: string, meterId: string | null): CheckRefusal => ({ ok: false, reason, detail, meterId });
  if (claimedMeterId === null) return bad('meter_mismatch', `no meter id named, payload ${r.meter_id}`, null);
  if (r.meter_id !== claimedMeterId) return bad('meter_mismatch', `topic ${claimedMeterId}, payload ${r.meter_id}`, claimedMeterId);
  if (!meter) return bad('unknown_meter', r.meter_id, r.meter_id);
  if (meter.status !== 'active') return bad('meter_inactive', `status ${meter.status}`, r.meter_id);
  if (!verifyEd25519(meter.publicKey, canonicalBytes(r as unknown as Record<string, unknown>), r.signature, decodeKey)) {
    return bad('bad_signature', 'ed25519 verification failed', r.meter_id);
  }
  if (!isValidPublicKey(r.wallet_address)) return bad('invalid_wallet', r.wallet_address, r.meter_id);
  if (r.wallet_address !== meter.ownerWallet) return bad('wallet_mismatch', r.wallet_address, r.meter_id);
  return null;
}

function reject(reason: RejectReason, detail: string, meterId: string | null): CheckRefusal {
  return { ok: false, reason, detail, meterId };
}

/**
 * Every check a reading gets, in a fixed order, as a pure function: the same bytes, meter and
 * clock always give the same answer. Signature comes before the semantic checks so that an
 * unauthenticated message never learns anything about the meter's registration.
 */
export function evaluateReading(
  claimedMeterId: string | null,
  payload: Uint8Array,
  meter: MeterSnapshot | null,
  nowMs: number,
  limits: EvaluationLimits,
  /** the verifier's cached base58 decoding of meter keys (default: decode every time) */
  decodeKey?: (publicKeyB58: string) => Buffer | null,
): Evaluation {
  if (payload.byteLength > MAX_PAYLOAD_BYTES) return reject('too_large', `${payload.byteLength} bytes`, claimedMeterId);
  const json = parseReadingJson(payload);
  if (!json.ok) return reject(json.reason, json.detail, claimedMeterId);
  const parsed = json.value;
  if (!validateSchema(parsed)) return reject('invalid_payload', schemaProblem(validateSchema.errors), claimedMeterId);
  const r = parsed;
  const envelope = envelopeProblem(r, claimedMeterId, meter, decodeKey);
  if (envelope) return envelope;
  if (!meter) return reject('unknown_meter', r.meter_id, r.meter_id);
  const units = kwhToBaseUnits(r.kwh_amount);
  if (units <= 0n) return reject('implausible_energy', `${r.kwh_amount} kWh is not positive`, r.meter_id);
  const ts = Date.parse(r.timestamp);
  if (Number.isNaN(ts)) return reject('invalid_payload', '/timestamp: not a valid date', r.meter_id);
  const interval = checkIntervalReading(r.timestamp, units, meter);
  if (!interval.ok) return reject(interval.reason, interval.detail, r.meter_id);
  if (ts < nowMs - limits.maxAgeMs) return reject('stale', `timestamp ${r.timestamp}`, r.meter_id);
  if (ts > nowMs + limits.maxFutureMs) return reject('future_timestamp', `timestamp ${r.timestamp}`, r.meter_id);
  return { ok: true, reading: r, baseUnits: units };
}

/**
 * The encoding checks of evaluateReading for the other JSON formats (register variant): UTF-8,
 * no raw control characters, valid JSON, no NUL/control/lone-surrogate escapes in any string.
 */
export function parseReadingJson(payload: Uint8Array): { ok: true; value: unknown } | { ok: false; reason: RejectReason; detail: string } {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return { ok: false, reason: 'invalid_encoding', detail: 'not valid UTF-8' };
  }
  const control = RAW_CONTROL.exec(text);
  if (control) return { ok: false, reason: 'invalid_encoding', detail: `control character U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} at ${control.index}` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'invalid_payload', detail: `not JSON: ${(err as Error).message}` };
  }
  const escaped = unsafeStringIn(value);
  if (escaped) return { ok: false, reason: 'invalid_encoding', detail: escaped };
  return { ok: true, value };
}
