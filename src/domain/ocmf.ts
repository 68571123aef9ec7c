import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { isObject, JsonNumber, parseExactJson, type ExactJson } from './json-exact.js';
import { DECIMALS } from './kwh.js';
import type { CheckRefusal } from './outcome.js';

/**
 * OCMF (Open Charge Metering Format, S.A.F.E. e.V.): `OCMF|{payload}|{signature}`. The signature
 * covers the payload's bytes exactly as received, so nothing here ever re-serialises it: the bytes
 * between the first and the last `|` are what gets verified, and values are read from those bytes
 * with a scanner that keeps numbers as written.
 */
export const MAX_OCMF_BYTES = 16_384;

/** SA curve names (the spec's and the spelling real meters use) → OpenSSL's names. */
const CURVES: Record<string, string> = {
  secp192k1: 'secp192k1',
  secp256k1: 'secp256k1',
  secp192r1: 'prime192v1',
  secp256r1: 'prime256v1',
  brainpool256r1: 'brainpoolP256r1',
  brainpoolP256r1: 'brainpoolP256r1',
  secp384r1: 'secp384r1',
  brainpool384r1: 'brainpoolP384r1',
  brainpoolP384r1: 'brainpoolP384r1',
};
const SA = /^ECDSA-([A-Za-z0-9]+)-SHA(256|384|512)$/;
const DEFAULT_SA = 'ECDSA-secp256r1-SHA256';

/**
 * Clock statuses accepted at the end of TM: S synchronised, I informative (free-running but
 * set), R relative (kept since a synchronisation). U (unknown) is refused: a read without a
 * trustworthy time cannot be ordered, and energy is the rise between ordered reads.
 */
export const ACCEPTED_CLOCK_STATUSES = ['S', 'I', 'R'] as const;
const TM = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:[,.](\d{1,3}))?([+-]\d{2}):?(\d{2}) ([A-Z])$/;

export interface OcmfRead {
  /** ISO 8601 UTC */
  timestamp: string;
  /** register value in kWh, exact decimal string (≤ 9 fractional digits) */
  registerKwh: string;
  /** RV exactly as written in the record (string or number token) */
  rawValue: string;
  unit: 'kWh' | 'Wh';
}

export interface OcmfRecord {
  reads: OcmfRead[];
  /** PG: T (transaction) or F (fiscal) and its counter */
  page: { type: 'T' | 'F'; counter: number } | null;
  gatewaySerial: string | null;
  /** SD as lowercase hex, kept as evidence; never an identity (a duplicate is the same time and value) */
  signatureHex: string;
}

export type OcmfEvaluation =
  | { ok: true; record: OcmfRecord }
  | (Omit<CheckRefusal, 'meterId'> & { reason: 'invalid_payload' | 'invalid_encoding' | 'too_large' | 'bad_signature' | 'ocmf_status' | 'serial_mismatch' });

export interface OcmfMeter {
  /** registered public key (SPKI DER hex) */
  publicKey: string;
  /** OBIS code of the register to read, e.g. 1-0:1.8.0 */
  obis: string;
  serial: string | null;
}

export interface ParsedKey {
  key: KeyObject;
  curve: string;
  spkiHex: string;
}

/** A registered key: SPKI DER as hex, or PEM. Throws with a short reason when it is not an EC key. */
export function parseOcmfPublicKey(input: string): ParsedKey {
  const text = input.trim();
  let key: KeyObject;
  try {
    key = text.startsWith('-----BEGIN')
      ? createPublicKey({ key: text, format: 'pem' })
      : createPublicKey({ key: Buffer.from(text, 'hex'), format: 'der', type: 'spki' });
    if (!text.startsWith('-----BEGIN') && !/^[0-9a-fA-F]+$/.test(text)) throw new Error('not hex');
  } catch {
    throw new Error('not an SPKI public key (DER hex or PEM)');
  }
  if (key.asymmetricKeyType !== 'ec') throw new Error(`not an EC key (${key.asymmetricKeyType})`);
  const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
  if (!Object.values(CURVES).includes(curve)) throw new Error(`curve ${curve} is not one OCMF names`);
  return { key, curve, spkiHex: key.export({ format: 'der', type: 'spki' }).toString('hex') };
}

/** OBIS without the optional `.FF` / `*255` suffix, so 1-0:1.8.0.FF matches 1-0:1.8.0. */
export function normaliseObis(obis: string): string {
  return obis.trim().replace(/(\.FF|\*255)$/i, '');
}

/** An RV token → exact kWh decimal string; null when it has an exponent or too many digits. */
export function registerKwhFrom(raw: string, unit: 'kWh' | 'Wh'): string | null {
  const m = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/.exec(raw);
  if (!m) return null;
  let whole = m[1]!;
  let frac = m[2] ?? '';
  if (unit === 'Wh') {
    const padded = whole.padStart(4, '0');
    frac = padded.slice(-3) + frac;
    whole = padded.slice(0, -3).replace(/^0+(?=\d)/, '');
  }
  frac = frac.replace(/0+$/, '');
  if (frac.length > DECIMALS) return null;
  return frac ? `${whole}.${frac}` : whole;
}

function tmToIso(tm: string): { iso: string; status: string } | null {
  const m = TM.exec(tm);
  if (!m) return null;
  const [, base, ms = '0', oh, om, status] = m;
  const t = Date.parse(`${base}.${ms.padEnd(3, '0')}${oh}:${om}`);
  return Number.isNaN(t) ? null : { iso: new Date(t).toISOString(), status: status! };
}

function decodeSignature(sig: { [k: string]: ExactJson }): Buffer | string {
  const sd = sig.SD;
  if (typeof sd !== 'string' || sd.length === 0 || sd.length > 1024) return 'SD missing';
  const se = sig.SE ?? 'hex';
  const sm = sig.SM ?? 'application/x-der';
  if (sm !== 'application/x-der') return `SM ${String(sm)} is not supported (DER only)`;
  if (se === 'hex') return /^([0-9a-fA-F]{2})+$/.test(sd) ? Buffer.from(sd, 'hex') : 'SD is not hex';
  if (se === 'base64') return /^[A-Za-z0-9+/]+={0,2}$/.test(sd) ? Buffer.from(sd, 'base64') : 'SD is not base64';
  return `SE ${String(se)} is not supported`;
}

/**
 * Parse → verify → extract the meter's register reads. Signature first: nothing from an
 * unauthenticated record is looked at beyond what verification needs. `parseKey` is the verifier's
 * cached parseOcmfPublicKey (default: parse every time).
 */
export function evaluateOcmf(bytes: Uint8Array, meter: OcmfMeter, parseKey: (spkiHex: string) => ParsedKey = parseOcmfPublicKey): OcmfEvaluation {
  const bad = (reason: Exclude<OcmfEvaluation, { ok: true }>['reason'], detail: string): OcmfEvaluation => ({ ok: false, reason, detail });
  if (bytes.byteLength > MAX_OCMF_BYTES) return bad('too_large', `${bytes.byteLength} bytes`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = buf.indexOf(0x7c);
  const last = buf.lastIndexOf(0x7c);
  if (first !== 4 || buf.subarray(0, 4).toString('latin1') !== 'OCMF' || last <= first) return bad('invalid_payload', 'not OCMF|{payload}|{signature}');
  const payloadBytes = buf.subarray(first + 1, last);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return bad('invalid_encoding', 'not valid UTF-8');
  }
  // JSON allows tab, LF and CR between tokens; any other control character is junk in a record
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(text)) return bad('invalid_encoding', 'control character in the record');
  let payload: ExactJson;
  let sig: ExactJson;
  try {
    payload = parseExactJson(buf.subarray(first + 1, last).toString('utf8'));
    sig = parseExactJson(buf.subarray(last + 1).toString('utf8'));
  } catch (err) {
    return bad('invalid_payload', `not JSON: ${(err as Error).message}`);
  }
  if (!isObject(payload) || !isObject(sig)) return bad('invalid_payload', 'payload and signature must be JSON objects');
  const sa = sig.SA ?? DEFAULT_SA;
  const alg = typeof sa === 'string' ? SA.exec(sa) : null;
  const curve = alg ? CURVES[alg[1]!] : undefined;
  if (!alg || !curve) return bad('bad_signature', `SA ${JSON.stringify(sa).slice(0, 60)} is not supported`);
  const der = decodeSignature(sig);
  if (typeof der === 'string') return bad('bad_signature', der);
  let key: ParsedKey;
  try {
    key = parseKey(meter.publicKey);
  } catch (err) {
    return bad('bad_signature', `registered key: ${(err as Error).message}`);
  }
  if (key.curve !== curve) return bad('bad_signature', `SA names ${curve} but the registered key is on ${key.curve}`);
  if (!verify(`sha${alg[2]}`, payloadBytes, key.key, der)) return bad('bad_signature', `${sa} verification failed`);
  return readPayload(payload, meter, der.toString('hex'));
}

function readPayload(p: { [k: string]: ExactJson }, meter: OcmfMeter, signatureHex: string): OcmfEvaluation {
  const bad = (reason: 'invalid_payload' | 'ocmf_status' | 'serial_mismatch', detail: string): OcmfEvaluation => ({ ok: false, reason, detail });
  const gs = typeof p.GS === 'string' ? p.GS : null;
  if (meter.serial !== null && gs !== meter.serial) return bad('serial_mismatch', `GS ${JSON.stringify(gs)} is not the registered serial`);
  let page: OcmfRecord['page'] = null;
  if (p.PG !== undefined) {
    const m = typeof p.PG === 'string' ? /^([TF])([0-9]{1,15})$/.exec(p.PG) : null;
    if (!m) return bad('invalid_payload', '/PG: must be T or F and a counter');
    page = { type: m[1] as 'T' | 'F', counter: Number(m[2]) };
  }
  if (!Array.isArray(p.RD) || p.RD.length === 0 || p.RD.length > 64) return bad('invalid_payload', '/RD: must be a list of 1 to 64 readings');
  const want = normaliseObis(meter.obis);
  const reads: OcmfRead[] = [];
  // Later RD entries may leave out RI, RU and ST; they inherit them from the entry before.
  let ri: ExactJson | undefined, ru: ExactJson | undefined, st: ExactJson | undefined;
  for (const [n, e] of p.RD.entries()) {
    if (!isObject(e)) return bad('invalid_payload', `/RD/${n}: not an object`);
    ri = e.RI ?? ri;
    ru = e.RU ?? ru;
    st = e.ST ?? st;
    if (typeof ri !== 'string' || normaliseObis(ri) !== want) continue;
    if (st !== 'G') return bad('ocmf_status', `/RD/${n}/ST: ${JSON.stringify(st ?? null).slice(0, 20)}`);
    if (ru !== 'kWh' && ru !== 'Wh') return bad('invalid_payload', `/RD/${n}/RU: must be kWh or Wh`);
    const rv = e.RV;
    const raw = typeof rv === 'string' ? rv.trim() : rv instanceof JsonNumber ? rv.text : null;
    const kwh = raw === null ? null : registerKwhFrom(raw, ru);
    if (raw === null || kwh === null) return bad('invalid_payload', `/RD/${n}/RV: not a register value with at most 9 decimals in kWh`);
    const tm = typeof e.TM === 'string' ? tmToIso(e.TM) : null;
    if (!tm) return bad('invalid_payload', `/RD/${n}/TM: not like 2021-09-02T12:29:53,000+0200 S`);
    if (!(ACCEPTED_CLOCK_STATUSES as readonly string[]).includes(tm.status)) return bad('invalid_payload', `/RD/${n}/TM: clock status ${tm.status} is not accepted`);
    const same = reads.find((r) => r.timestamp === tm.iso);
    if (same && same.registerKwh !== kwh) return bad('invalid_payload', `/RD/${n}: two values for ${tm.iso}`);
    if (!same) reads.push({ timestamp: tm.iso, registerKwh: kwh, rawValue: raw, unit: ru });
  }
  if (reads.length === 0) return bad('invalid_payload', `/RD: no reading of register ${want}`);
  return { ok: true, record: { reads, page, gatewaySerial: gs, signatureHex } };
}
