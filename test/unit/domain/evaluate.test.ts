import { describe, expect, it } from 'vitest';
import { evaluateReading, type MeterSnapshot } from '../../../src/domain/evaluate.js';
import { generateMeterKey, signReading } from '../../../src/domain/sign.js';
import type { SignedReading } from '../../../src/domain/reading.js';

const key = generateMeterKey();
const owner = generateMeterKey().publicKey;
const NOW = Date.parse('2026-11-25T12:00:00Z');
const limits = { maxAgeMs: 86_400_000, maxFutureMs: 300_000 };
const meter: MeterSnapshot = { id: 'm-1', ownerWallet: owner, publicKey: key.publicKey, status: 'active', intervalSeconds: 60, maxKw: '6000' }; // 100 kWh per reading

function reading(over: Partial<Omit<SignedReading, 'signature'>> = {}): SignedReading {
  return signReading(key, { meter_id: 'm-1', timestamp: '2026-11-25T11:59:00Z', kwh_amount: '1.5', wallet_address: owner, ...over });
}
const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const evalWith = (payload: unknown, m: MeterSnapshot | null = meter, topicId = 'm-1') => evaluateReading(topicId, bytes(payload), m, NOW, limits);
const reasonOf = (...args: Parameters<typeof evalWith>) => {
  const r = evalWith(...args);
  return r.ok ? 'accepted' : r.reason;
};

describe('evaluateReading', () => {
  it('accepts a correctly signed reading and returns exact base units', () => {
    const r = evalWith(reading({ kwh_amount: '12345.678901234' }), { ...meter, maxKw: '999990000' });
    expect(r.ok && r.baseUnits).toBe(12_345_678_901_234n);
  });

  it('gives each kind of bad input its own stable reason code', () => {
    expect(reasonOf('x'.repeat(4097))).toBe('too_large');
    expect(reasonOf('{not json')).toBe('invalid_payload');
    expect(reasonOf({ ...reading(), extra: '1' })).toBe('invalid_payload');
    expect(reasonOf({ ...reading(), kwh_amount: 1.5 })).toBe('invalid_payload');
    expect(reasonOf(reading({ kwh_amount: '0.0000000001' }))).toBe('invalid_payload');
    expect(reasonOf(reading({ timestamp: 'yesterday' }))).toBe('invalid_payload');
    expect(reasonOf(reading(), meter, 'm-2')).toBe('meter_mismatch');
    expect(reasonOf(reading(), null)).toBe('unknown_meter');
    expect(reasonOf(reading(), { ...meter, status: 'suspended' })).toBe('meter_inactive');
    expect(reasonOf({ ...reading(), kwh_amount: '2' })).toBe('bad_signature');
    expect(reasonOf(reading(), { ...meter, publicKey: generateMeterKey().publicKey })).toBe('bad_signature');
    expect(reasonOf(reading({ kwh_amount: '0' }))).toBe('implausible_energy');
    expect(reasonOf(reading({ kwh_amount: '-1' }))).toBe('implausible_energy');
    expect(reasonOf(reading({ kwh_amount: '100.000000001' }))).toBe('implausible_energy');
    expect(reasonOf(reading({ timestamp: '2026-11-25T11:59:01Z' }))).toBe('misaligned_timestamp');
    expect(reasonOf(reading({ timestamp: '2026-11-25T11:59:00.000001Z' }))).toBe('misaligned_timestamp');
    expect(reasonOf(reading({ timestamp: '2026-11-24T11:59:00Z' }))).toBe('stale');
    expect(reasonOf(reading({ timestamp: '2026-11-25T12:06:00Z' }))).toBe('future_timestamp');
    expect(reasonOf(reading({ wallet_address: 'not-a-wallet' }))).toBe('invalid_wallet');
    expect(reasonOf(reading({ wallet_address: generateMeterKey().publicKey }))).toBe('wallet_mismatch');
  });

  it('names the failing path for schema errors', () => {
    const r = evalWith({ ...reading(), kwh_amount: 1.5 });
    expect(!r.ok && r.detail).toMatch(/^\/kwh_amount/);
  });

  it('accepts the cap exactly and timestamps with offsets', () => {
    expect(reasonOf(reading({ kwh_amount: '100' }))).toBe('accepted');
    expect(reasonOf(reading({ timestamp: '2026-11-25T13:59:00+02:00' }))).toBe('accepted');
    expect(reasonOf(reading({ timestamp: '2026-11-25T11:59:00.000Z' }))).toBe('accepted'); // a zero fraction is still on the grid
  });
});
