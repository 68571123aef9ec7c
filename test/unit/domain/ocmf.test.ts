import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseExactJson, JsonNumber } from '../../../src/domain/json-exact.js';
import { evaluateOcmf, normaliseObis, parseOcmfPublicKey, registerKwhFrom } from '../../../src/domain/ocmf.js';
import { highSTwin } from '../../harness/meters.js';

const fixtures = JSON.parse(readFileSync(new URL('../../fixtures/ocmf/real-meters.json', import.meta.url), 'utf8')) as {
  records: { source: string; valid: boolean; obis: string; publicKey: string; record: string }[];
};

const CURVES = [
  ['ECDSA-secp256r1-SHA256', 'prime256v1'],
  ['ECDSA-secp256k1-SHA256', 'secp256k1'],
  ['ECDSA-brainpool256r1-SHA256', 'brainpoolP256r1'],
  ['ECDSA-secp384r1-SHA256', 'secp384r1'],
  ['ECDSA-brainpool384r1-SHA256', 'brainpoolP384r1'],
] as const;

function keyOn(curve: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  return { privateKey, spkiHex: publicKey.export({ format: 'der', type: 'spki' }).toString('hex'), pem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

/** A record as a real meter writes it: spaces around colons, RV as a string, the exact bytes signed. */
function record(payload: string, privateKey: ReturnType<typeof keyOn>['privateKey'], sa: string | null, enc: 'hex' | 'base64' = 'hex', hash = 'sha256') {
  const sig = sign(hash, Buffer.from(payload), privateKey);
  const sd = enc === 'hex' ? sig.toString('hex').toUpperCase() : sig.toString('base64');
  const sigJson = { SD: sd, ...(sa ? { SA: sa } : {}), ...(enc === 'base64' ? { SE: 'base64' } : {}) };
  return Buffer.from(`OCMF|${payload}|${JSON.stringify(sigJson)}`);
}

const PAYLOAD = `{"FV" : "1.0", "GS" : "GS-1", "PG" : "T12", "RD" : [{"TM" : "2021-09-02T12:29:53,000+0200 S", "TX" : "B", "RV" : "1234.567", "RI" : "1-0:2.8.0.FF", "RU" : "kWh", "ST" : "G"}, {"TM" : "2021-09-02T12:44:53,000+0200 S", "TX" : "E", "RV" : 1235.0000001, "RI" : "1-0:1.8.0", "RU" : "kWh", "ST" : "G"}]}`;
const METER = { obis: '1-0:2.8.0', serial: 'GS-1' };

describe('OCMF records from real meters (S.A.F.E. transparency software test data)', () => {
  for (const f of fixtures.records) {
    it(`${f.valid ? 'verifies' : 'refuses'} ${f.source.split('/').pop()}`, () => {
      const out = evaluateOcmf(Buffer.from(f.record), { publicKey: parseOcmfPublicKey(f.publicKey).spkiHex, obis: f.obis, serial: null });
      if (f.valid) expect(out.ok, JSON.stringify(out)).toBe(true);
      else expect(out).toMatchObject({ ok: false, reason: 'bad_signature' });
    });
  }

  it('reads RV exactly as written: number tokens and Wh never pass through a float', () => {
    const keba = fixtures.records[0]!;
    const out = evaluateOcmf(Buffer.from(keba.record), { publicKey: keba.publicKey.toLowerCase(), obis: keba.obis, serial: null });
    expect(out.ok && out.record.reads.map((r) => [r.timestamp, r.registerKwh, r.rawValue])).toEqual([
      ['2019-08-13T10:03:15.000Z', '0.2596', '0.2596'],
      ['2019-08-13T10:03:36.000Z', '0.2597', '0.2597'],
    ]);
    expect(out.ok && out.record.page).toEqual({ type: 'T', counter: 32 });
    const nzr = fixtures.records[2]!;
    const wh = evaluateOcmf(Buffer.from(nzr.record), { publicKey: nzr.publicKey, obis: '1-0:1.8.1', serial: '21751020' });
    expect(wh.ok && wh.record.reads[0]!.registerKwh).toBe('1.833');
  });
});

describe('OCMF verification per curve', () => {
  for (const [sa, curve] of CURVES) {
    it(`${sa}: valid verifies over the exact bytes; tampered, re-serialised or wrong-curve records are refused`, () => {
      const k = keyOn(curve);
      const good = record(PAYLOAD, k.privateKey, sa);
      const out = evaluateOcmf(good, { ...METER, publicKey: k.spkiHex });
      expect(out.ok, JSON.stringify(out)).toBe(true);
      expect(out.ok && out.record.reads.map((r) => r.registerKwh)).toEqual(['1234.567']); // only 2.8.0 (".FF" ignored)

      const tampered = Buffer.from(good.toString().replace('"1234.567"', '"1239.567"'));
      expect(evaluateOcmf(tampered, { ...METER, publicKey: k.spkiHex })).toMatchObject({ ok: false, reason: 'bad_signature' });
      // same content without the spaces: a different byte string, so the signature does not cover it
      const compact = Buffer.from(good.toString().replace(/ : /g, ':'));
      expect(evaluateOcmf(compact, { ...METER, publicKey: k.spkiHex })).toMatchObject({ ok: false, reason: 'bad_signature' });
      const other = keyOn(curve === 'prime256v1' ? 'secp256k1' : 'prime256v1');
      expect(evaluateOcmf(good, { ...METER, publicKey: other.spkiHex })).toMatchObject({ ok: false, reason: 'bad_signature', detail: expect.stringMatching(/registered key is on/) });
    });
  }

  it('defaults to secp256r1 with hex DER; honours SE base64, PEM keys and the hash SA names', () => {
    const k = keyOn('prime256v1');
    expect(evaluateOcmf(record(PAYLOAD, k.privateKey, null), { ...METER, publicKey: parseOcmfPublicKey(k.pem).spkiHex }).ok).toBe(true);
    expect(evaluateOcmf(record(PAYLOAD, k.privateKey, null, 'base64'), { ...METER, publicKey: k.spkiHex }).ok).toBe(true);
    const k384 = keyOn('secp384r1');
    expect(evaluateOcmf(record(PAYLOAD, k384.privateKey, 'ECDSA-secp384r1-SHA384', 'hex', 'sha384'), { ...METER, publicKey: k384.spkiHex }).ok).toBe(true);
    // signed with SHA-256 but claiming SHA-384: refused
    expect(evaluateOcmf(record(PAYLOAD, k384.privateKey, 'ECDSA-secp384r1-SHA384'), { ...METER, publicKey: k384.spkiHex }).ok).toBe(false);
  });
});

describe('OCMF signatures are not identities', () => {
  it('a high-S twin and a fresh signature verify for the same payload: equal reads, other signature bytes', () => {
    const k = keyOn('prime256v1');
    const der = sign('sha256', Buffer.from(PAYLOAD), k.privateKey);
    const wrap = (d: Buffer) => Buffer.from(`OCMF|${PAYLOAD}|{"SD":"${d.toString('hex')}"}`);
    const outs = [der, highSTwin(der), sign('sha256', Buffer.from(PAYLOAD), k.privateKey)].map((d) => evaluateOcmf(wrap(d), { ...METER, publicKey: k.spkiHex }));
    for (const o of outs) expect(o.ok, JSON.stringify(o)).toBe(true);
    const records = outs.map((o) => (o.ok ? o.record : null)!);
    expect(new Set(records.map((r) => r.signatureHex)).size).toBe(3);
    expect(records[1]!.reads).toEqual(records[0]!.reads);
    expect(records[2]!.reads).toEqual(records[0]!.reads);
  });
});

describe('OCMF reading rules', () => {
  const k = keyOn('prime256v1');
  const evalP = (payload: string, meter: Partial<typeof METER> = {}) => evaluateOcmf(record(payload, k.privateKey, null), { ...METER, ...meter, publicKey: k.spkiHex });

  it('quarantines a status other than G with its code, and a foreign serial', () => {
    expect(evalP(PAYLOAD.replace('"ST" : "G"', '"ST" : "E"'))).toMatchObject({ ok: false, reason: 'ocmf_status', detail: expect.stringContaining('"E"') });
    expect(evalP(PAYLOAD, { serial: 'GS-2' })).toMatchObject({ ok: false, reason: 'serial_mismatch' });
  });

  it('accepts clock statuses S, I and R, refuses U; matches OBIS ignoring .FF and *255', () => {
    expect(evalP(PAYLOAD.replace('0200 S"', '0200 U"'))).toMatchObject({ ok: false, reason: 'invalid_payload', detail: expect.stringContaining('clock status U') });
    expect(evalP(PAYLOAD.replace('0200 S"', '0200 R"')).ok).toBe(true);
    expect(normaliseObis('1-0:1.8.0*255')).toBe('1-0:1.8.0');
    expect(evalP(PAYLOAD, { obis: '1-0:1.8.0.FF' })).toMatchObject({ ok: true });
    expect(evalP(PAYLOAD, { obis: '1-0:9.9.9' })).toMatchObject({ ok: false, reason: 'invalid_payload', detail: expect.stringContaining('no reading of register') });
  });

  it('refuses RV with an exponent or more precision than 9 kWh decimals, and a bad PG', () => {
    expect(evalP(PAYLOAD.replace('"1234.567"', '1.234567e3'))).toMatchObject({ ok: false, reason: 'invalid_payload' });
    expect(evalP(PAYLOAD.replace('"1234.567"', '"1.0000000001"'))).toMatchObject({ ok: false, reason: 'invalid_payload' });
    expect(evalP(PAYLOAD.replace('"T12"', '"X12"'))).toMatchObject({ ok: false, reason: 'invalid_payload' });
  });

  it('converts Wh exactly', () => {
    expect(registerKwhFrom('1833', 'Wh')).toBe('1.833');
    expect(registerKwhFrom('0.000001', 'Wh')).toBe('0.000000001');
    expect(registerKwhFrom('0.0000001', 'Wh')).toBeNull();
    expect(registerKwhFrom('12', 'Wh')).toBe('0.012');
    expect(registerKwhFrom('12000', 'Wh')).toBe('12');
    expect(registerKwhFrom('0', 'Wh')).toBe('0');
  });

  it('the exact JSON reader keeps number tokens and refuses duplicate keys', () => {
    const v = parseExactJson('{"a" : 0.1000000000000000055511151231257827, "b":[1e2]}') as Record<string, unknown>;
    expect((v.a as JsonNumber).text).toBe('0.1000000000000000055511151231257827');
    expect(() => parseExactJson('{"a":1,"a":2}')).toThrow(/duplicate/);
    expect(() => parseExactJson('{"a":1} x')).toThrow(/trailing/);
  });
});
