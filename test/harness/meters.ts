import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type pg from 'pg';
import { generatePassword, hashPassword } from '../../src/domain/credential.js';
import type { SignedReading } from '../../src/domain/reading.js';
import { registerRegistration, type RegisterRegistration } from '../../src/domain/register-meter.js';
import type { SignedRegisterReading } from '../../src/domain/register-reading.js';
import { generateMeterKey, signReading, signRegisterReading, type MeterKey } from '../../src/domain/sign.js';
import { insertMeter } from '../../src/store/meters.js';
import { insertRegisterMeter } from '../../src/store/register-meters.js';

// Meters as `gridmint meter add` registers them, and what they sign: interval readings (v1),
// register reads (JSON) and OCMF records.

export interface TestMeter {
  id: string;
  key: MeterKey;
  owner: string;
  password: string;
}

/**
 * Registers a meter the way `gridmint meter add` does (real key, $7$ password hash). Test meters
 * default to a 1-second interval so that `reading()` can hand out many distinct on-grid
 * timestamps, and to 360,000 kW so one reading may still carry up to 100 kWh.
 */
export async function registerMeter(pool: pg.Pool, opts: { id?: string; intervalSeconds?: number; maxKw?: string } = {}): Promise<TestMeter> {
  const key = generateMeterKey();
  const owner = generateMeterKey().publicKey;
  const password = generatePassword();
  const id = opts.id ?? `m-${randomBytes(4).toString('hex')}`;
  await insertMeter(pool, { id, ownerWallet: owner, publicKey: key.publicKey, intervalSeconds: opts.intervalSeconds ?? 1, maxKw: opts.maxKw ?? '360000', passwordHash: hashPassword(password) });
  return { id, key, owner, password };
}

let tick = 0;
/**
 * A correctly signed reading with a fresh timestamp: whole seconds (on a 1-second meter's grid),
 * distinct per call, within the last 20 hours (inside the 24-hour `stale` window).
 */
export function reading(m: TestMeter, over: Partial<Omit<SignedReading, 'signature'>> = {}): SignedReading {
  const ts = new Date(Math.floor(Date.now() / 1000) * 1000 - 72_000_000 + (tick++ % 72_000) * 1000).toISOString();
  return signReading(m.key, { meter_id: m.id, timestamp: ts, kwh_amount: '1.25', wallet_address: m.owner, ...over });
}

/** One hostile or broken message per reason code that a meter on its own topic can produce. */
export function rejectionCases(m: TestMeter, other: TestMeter): { reason: string; payload: string | Buffer }[] {
  const forged = reading(m);
  const last = forged.signature.endsWith('1') ? '2' : '1';
  const hour = 3_600_000;
  return [
    { reason: 'invalid_payload', payload: '{"meter_id": "not json' },
    { reason: 'too_large', payload: Buffer.alloc(5000, 0x20) },
    { reason: 'meter_mismatch', payload: JSON.stringify(reading(other)) },
    { reason: 'bad_signature', payload: JSON.stringify({ ...forged, signature: forged.signature.slice(0, -1) + last }) },
    { reason: 'implausible_energy', payload: JSON.stringify(reading(m, { kwh_amount: '100.000000001' })) },
    { reason: 'misaligned_timestamp', payload: JSON.stringify(reading(m, { timestamp: new Date(Math.floor(Date.now() / 1000) * 1000 - 5_000_500).toISOString() })) },
    { reason: 'implausible_energy', payload: JSON.stringify(reading(m, { kwh_amount: '0' })) },
    { reason: 'stale', payload: JSON.stringify(reading(m, { timestamp: new Date(Math.floor(Date.now() / 1000) * 1000 - 25 * hour).toISOString() })) },
    { reason: 'future_timestamp', payload: JSON.stringify(reading(m, { timestamp: new Date(Math.floor(Date.now() / 1000) * 1000 + hour).toISOString() })) },
    { reason: 'invalid_wallet', payload: JSON.stringify(reading(m, { wallet_address: 'not-a-wallet' })) },
    { reason: 'wallet_mismatch', payload: JSON.stringify(reading(m, { wallet_address: other.owner })) },
  ];
}


export interface RegisterTestMeter {
  id: string;
  key: MeterKey;
  owner: string;
  password: string;
}

/** Rated power for test meters whose test is not about plausibility (every meter has a max_kw). */
const NO_PRACTICAL_CAP = '1000000000';

/** A register meter (ed25519 JSON), registered as `meter add --reads register …` does. */
export async function addRegisterMeter(pool: pg.Pool, opts: Partial<RegisterRegistration> = {}): Promise<RegisterTestMeter> {
  const key = generateMeterKey();
  const owner = generateMeterKey().publicKey;
  const password = generatePassword();
  const id = `r-${randomBytes(4).toString('hex')}`;
  const reg = registerRegistration({ reads: 'register', format: 'json', ...opts }, key.publicKey);
  if (!reg.ok) throw new Error(`${reg.field}: ${reg.message}`);
  await insertRegisterMeter(pool, { id, ownerWallet: owner, publicKey: reg.publicKey, maxKw: opts.maxKw ?? NO_PRACTICAL_CAP, passwordHash: hashPassword(password) }, reg.profile);
  return { id, key, owner, password };
}

export function registerRead(m: RegisterTestMeter, timestamp: string, registerKwh: string): SignedRegisterReading {
  return signRegisterReading(m.key, { meter_id: m.id, timestamp, register_kwh: registerKwh, wallet_address: m.owner });
}

export interface OcmfTestMeter {
  id: string;
  owner: string;
  password: string;
  privateKey: KeyObject;
  page: number;
}

/** An OCMF meter with a fresh key on `curve`. */
export async function addOcmfMeter(pool: pg.Pool, opts: { curve?: string; serial?: string; maxKw?: string; obis?: string } = {}): Promise<OcmfTestMeter> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: opts.curve ?? 'prime256v1' });
  const owner = generateMeterKey().publicKey;
  const password = generatePassword();
  const id = `o-${randomBytes(4).toString('hex')}`;
  const spki = publicKey.export({ format: 'der', type: 'spki' }).toString('hex');
  const reg = registerRegistration({ reads: 'register', format: 'ocmf', serial: opts.serial, maxKw: opts.maxKw, obis: opts.obis }, spki);
  if (!reg.ok) throw new Error(`${reg.field}: ${reg.message}`);
  await insertRegisterMeter(pool, { id, ownerWallet: owner, publicKey: reg.publicKey, maxKw: opts.maxKw ?? NO_PRACTICAL_CAP, passwordHash: hashPassword(password) }, reg.profile);
  return { id, owner, password, privateKey, page: 0 };
}

/** OCMF time: 2021-09-02T12:29:53,000+0000 S */
export function ocmfTime(d: Date, status = 'S'): string {
  return `${d.toISOString().slice(0, 19)},${d.toISOString().slice(20, 23)}+0000 ${status}`;
}

/** A record's signed payload as a meter writes it (spaces around colons, RV as a string). */
export function ocmfPayload(m: OcmfTestMeter, reads: { at: Date; kwh: string; st?: string }[], opts: { page?: number; gs?: string } = {}): string {
  const page = opts.page ?? ++m.page;
  const rd = reads.map((r) => `{"TM" : "${ocmfTime(r.at)}", "TX" : "T", "RV" : "${r.kwh}", "RI" : "1-0:1.8.0", "RU" : "kWh", "ST" : "${r.st ?? 'G'}"}`);
  return `{"FV" : "1.0", "GI" : "TEST", "GS" : "${opts.gs ?? 'GS-1'}", "PG" : "T${page}", "RD" : [${rd.join(', ')}]}`;
}

/** A fresh ECDSA signature (DER) of `payload`: random k, so every call gives another valid one. */
export function ocmfSign(m: OcmfTestMeter, payload: string): Buffer {
  return sign('sha256', Buffer.from(payload), m.privateKey);
}

/** `OCMF|{payload}|{"SD":"…"}` with the signature as upper-case hex. */
export function ocmfWrap(payload: string, der: Buffer): string {
  return `OCMF|${payload}|{"SD":"${der.toString('hex').toUpperCase()}"}`;
}

/** A signed record as a meter writes it. */
export function ocmfRecord(m: OcmfTestMeter, reads: { at: Date; kwh: string; st?: string }[], opts: { page?: number; gs?: string } = {}): string {
  const payload = ocmfPayload(m, reads, opts);
  return ocmfWrap(payload, ocmfSign(m, payload));
}

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/**
 * The malleated twin of a P-256 ECDSA signature: (r, n − s) verifies for the same payload, yet
 * its bytes differ. Anyone holding one valid signature can make it; no key is needed.
 */
export function highSTwin(der: Buffer): Buffer {
  const int = (b: Buffer, at: number) => {
    if (b[at] !== 0x02) throw new Error('not a DER INTEGER');
    const len = b[at + 1]!;
    return { value: BigInt(`0x${b.subarray(at + 2, at + 2 + len).toString('hex')}`), end: at + 2 + len };
  };
  if (der[0] !== 0x30 || der[1]! >= 0x80) throw new Error('not a short DER SEQUENCE');
  const r = int(der, 2);
  const s = int(der, r.end);
  const enc = (v: bigint) => {
    let hex = v.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
    const b = Buffer.from(hex, 'hex');
    return Buffer.concat([Buffer.from([0x02, b.length]), b]);
  };
  const body = Buffer.concat([enc(r.value), enc(P256_ORDER - s.value)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}
