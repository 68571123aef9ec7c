import { describe, expect, it } from 'vitest';
import { canonicalBytes } from '../../../src/domain/canonical.js';
import { evaluateRegisterReading } from '../../../src/domain/register-reading.js';
import { meterKeyFromSecret, signRegisterReading } from '../../../src/domain/sign.js';

// The README's second test vector (the register variant), byte for byte.
const SECRET = Buffer.concat([
  Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'),
  Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex'),
]);
const FIELDS = { meter_id: 'meter-001', timestamp: '2026-11-25T12:15:00Z', register_kwh: '12345.678901234', wallet_address: '586Z7H2vpX9qNhN2T4e9Utugie3ogjbxzGaMtM3E6HR5' };
const CANONICAL = '{"meter_id":"meter-001","register_kwh":"12345.678901234","timestamp":"2026-11-25T12:15:00Z","wallet_address":"586Z7H2vpX9qNhN2T4e9Utugie3ogjbxzGaMtM3E6HR5"}';
const SIGNATURE = 'pDfpbmFyRHjJaYRxtDCFCVg7U8nHWw9Fs98vxZTLg2PUvgGdAqkj6nMtT3S6WXzJKw3neARjMZtYmrf7K9VKiFD';

describe('register variant of the v1 contract', () => {
  it('signs the README vector to the documented signature over the documented canonical bytes', () => {
    const key = meterKeyFromSecret(Uint8Array.from(SECRET));
    expect(key.publicKey).toBe('FVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z');
    expect(canonicalBytes(FIELDS).toString('utf8')).toBe(CANONICAL);
    expect(signRegisterReading(key, FIELDS).signature).toBe(SIGNATURE);
  });

  it('accepts the vector for a registered meter and refuses kwh_amount or a negative register', () => {
    const meter = { id: 'meter-001', ownerWallet: FIELDS.wallet_address, publicKey: 'FVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z', status: 'active' as const, intervalSeconds: 900, maxKw: '400' };
    const now = Date.parse(FIELDS.timestamp) + 60_000;
    const limits = { maxAgeMs: 86_400_000, maxFutureMs: 300_000 };
    const bytes = (o: unknown) => Buffer.from(JSON.stringify(o));
    expect(evaluateRegisterReading('meter-001', bytes({ ...FIELDS, signature: SIGNATURE }), meter, now, limits)).toMatchObject({ ok: true });
    expect(evaluateRegisterReading('meter-001', bytes({ ...FIELDS, register_kwh: '-1', signature: SIGNATURE }), meter, now, limits)).toMatchObject({ ok: false, reason: 'invalid_payload' });
    expect(evaluateRegisterReading('meter-001', bytes({ ...FIELDS, kwh_amount: '1', signature: SIGNATURE }), meter, now, limits)).toMatchObject({ ok: false, reason: 'invalid_payload' });
    expect(evaluateRegisterReading('meter-001', bytes({ ...FIELDS, register_kwh: '12345.678901235', signature: SIGNATURE }), meter, now, limits)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });
});
