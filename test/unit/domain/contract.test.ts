import { describe, expect, it } from 'vitest';
import { canonicalBytes } from '../../../src/domain/canonical.js';
import { verifyEd25519 } from '../../../src/domain/keys.js';
import { meterKeyFromSecret, signReading } from '../../../src/domain/sign.js';

// The README's test vector, byte for byte: if this test changes, firmware in the field breaks.
const VECTOR = {
  keypair: [157, 97, 177, 157, 239, 253, 90, 96, 186, 132, 74, 244, 146, 236, 44, 196, 68, 73, 197, 105, 123, 50, 105, 25, 112, 59, 172, 3, 28, 174, 127, 96, 215, 90, 152, 1, 130, 177, 10, 183, 213, 75, 254, 211, 201, 100, 7, 58, 14, 225, 114, 243, 218, 166, 35, 37, 175, 2, 26, 104, 247, 7, 81, 26],
  publicKey: 'FVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z',
  payload: {
    meter_id: 'meter-001',
    timestamp: '2026-11-25T12:15:00Z',
    kwh_amount: '1.234567891',
    wallet_address: '586Z7H2vpX9qNhN2T4e9Utugie3ogjbxzGaMtM3E6HR5',
  },
  canonical: '{"kwh_amount":"1.234567891","meter_id":"meter-001","timestamp":"2026-11-25T12:15:00Z","wallet_address":"586Z7H2vpX9qNhN2T4e9Utugie3ogjbxzGaMtM3E6HR5"}',
  signature: '4zFa5QCekxcDCNdfNn3VKohrc9iLUq5UuomHnHUaQwVaUzt7ssqp5tK9HMEgSw5tpDXPMCzvYYXGvGMgRcJotMEC',
};

describe('v1 message contract', () => {
  it('canonical form of the README vector is keys sorted, no whitespace', () => {
    expect(canonicalBytes(VECTOR.payload).toString('utf8')).toBe(VECTOR.canonical);
  });

  it('canonical form ignores the signature field and field order', () => {
    const shuffled = { wallet_address: VECTOR.payload.wallet_address, signature: 'x', kwh_amount: VECTOR.payload.kwh_amount, timestamp: VECTOR.payload.timestamp, meter_id: VECTOR.payload.meter_id };
    expect(canonicalBytes(shuffled).toString('utf8')).toBe(VECTOR.canonical);
  });

  it('signing the vector with its secret key gives the documented signature', () => {
    const key = meterKeyFromSecret(Uint8Array.from(VECTOR.keypair));
    expect(key.publicKey).toBe(VECTOR.publicKey);
    expect(signReading(key, VECTOR.payload).signature).toBe(VECTOR.signature);
  });

  it('the documented signature verifies, and fails for any changed field', () => {
    expect(verifyEd25519(VECTOR.publicKey, Buffer.from(VECTOR.canonical), VECTOR.signature)).toBe(true);
    const altered = canonicalBytes({ ...VECTOR.payload, kwh_amount: '1.234567892' });
    expect(verifyEd25519(VECTOR.publicKey, altered, VECTOR.signature)).toBe(false);
  });

  it('escapes strings the JSON way (RFC 8785)', () => {
    expect(canonicalBytes({ b: 'é"\\\n', a: '\u0001' }).toString('utf8')).toBe('{"a":"\\u0001","b":"é\\"\\\\\\n"}');
  });
});
