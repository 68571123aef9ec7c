import { describe, expect, it } from 'vitest';
import { evaluateReading, type MeterSnapshot } from '../../../src/domain/evaluate.js';
import { generateMeterKey, signReading } from '../../../src/domain/sign.js';

const key = generateMeterKey();
const owner = generateMeterKey().publicKey;
const NOW = Date.parse('2026-11-25T12:00:00Z');
const meter: MeterSnapshot = { id: 'm-1', ownerWallet: owner, publicKey: key.publicKey, status: 'active', intervalSeconds: 60, maxKw: '6000' };
const signed = signReading(key, { meter_id: 'm-1', timestamp: '2026-11-25T11:59:00Z', kwh_amount: '1.5', wallet_address: owner });
const evaluate = (payload: Buffer | string) => evaluateReading('m-1', Buffer.from(payload), meter, NOW, { maxAgeMs: 86_400_000, maxFutureMs: 300_000 });

describe('evaluateReading: encoding', () => {
  it('refuses invalid UTF-8, raw control characters and escaped NUL / controls / lone surrogates as invalid_encoding', () => {
    const cases: (Buffer | string)[] = [
      Buffer.from([0x7b, 0xff, 0x7d]),
      Buffer.from([0x7b, 0xed, 0xa0, 0x80, 0x7d]), // a surrogate encoded as UTF-8 (CESU)
      `{"meter_id":"m-1\u0000"}`,
      JSON.stringify({ ...signed, wallet_address: `${owner}\u0000` }),
      JSON.stringify({ ...signed, signature: `${signed.signature}\u001b` }),
      JSON.stringify({ ...signed, extra: { deep: ['\ud800'] } }),
      JSON.stringify({ ...signed, 'k\u0000': 1 }),
    ];
    for (const c of cases) {
      const r = evaluate(c);
      expect(r.ok ? 'accepted' : r.reason).toBe('invalid_encoding');
    }
  });

  it('still accepts JSON whitespace (tab, LF, CR) and real non-ASCII text stays a schema matter', () => {
    const r = evaluate(JSON.stringify(signed, null, '\t').replace(/\n/g, '\r\n'));
    expect(r.ok).toBe(true);
    const emoji = evaluate(JSON.stringify({ ...signed, wallet_address: '🔋' }));
    expect(emoji.ok ? 'accepted' : emoji.reason).toBe('bad_signature');
  });

  it('describes where the bad character is, without repeating it', () => {
    const r = evaluate(JSON.stringify({ ...signed, wallet_address: 'a\u0000b' }));
    expect(r.ok ? '' : r.detail).toBe('/wallet_address: control character U+0000 at 1');
  });
});
