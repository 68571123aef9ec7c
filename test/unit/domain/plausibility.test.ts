import { describe, expect, it } from 'vitest';
import {
  checkIntervalReading,
  isOnIntervalGrid,
  isValidIntervalSeconds,
  maxEnergyBaseUnits,
  maxKwhPerInterval,
  wholeEpochSeconds,
  withinRatedPower,
} from '../../../src/domain/plausibility.js';
import { kwhToBaseUnits } from '../../../src/domain/kwh.js';

describe('interval lengths', () => {
  it('allows exactly the divisors of one day', () => {
    const allowed = Array.from({ length: 86_400 }, (_, i) => i + 1).filter(isValidIntervalSeconds);
    expect(allowed).toHaveLength(96); // 86400 = 2^7 · 3^3 · 5^2 → 8 · 4 · 3 divisors
    expect(allowed.slice(0, 8)).toEqual([1, 2, 3, 4, 5, 6, 8, 9]);
    for (const ok of [60, 300, 900, 3600, 86_400]) expect(isValidIntervalSeconds(ok)).toBe(true);
    for (const bad of [0, -900, 7, 901, 172_800, 1.5, Number.NaN, '900']) expect(isValidIntervalSeconds(bad)).toBe(false);
  });
});

describe('the interval grid', () => {
  it('puts timestamps on whole multiples of the interval since the epoch, in UTC', () => {
    expect(isOnIntervalGrid('2026-11-25T12:15:00Z', 900)).toBe(true);
    expect(isOnIntervalGrid('2026-11-25T13:15:00+01:00', 900)).toBe(true);
    expect(isOnIntervalGrid('2026-11-25T17:45:00+05:30', 900)).toBe(true);
    expect(isOnIntervalGrid('2026-11-25T12:20:00Z', 900)).toBe(false);
    expect(isOnIntervalGrid('2026-11-25T00:00:00Z', 86_400)).toBe(true);
    expect(isOnIntervalGrid('2026-11-25T00:00:00+01:00', 86_400)).toBe(false); // midnight in UTC, not locally
    expect(isOnIntervalGrid('1970-01-01T00:00:00Z', 900)).toBe(true);
  });

  it('puts any fraction of a second off the grid, even one a millisecond parser would drop', () => {
    expect(wholeEpochSeconds('2026-11-25T12:15:00.000001Z')).toBeNull();
    expect(wholeEpochSeconds('2026-11-25T12:15:00.5Z')).toBeNull();
    expect(wholeEpochSeconds('2026-11-25T12:15:00.000Z')).toBe(Date.parse('2026-11-25T12:15:00Z') / 1000);
    expect(isOnIntervalGrid('2026-11-25T12:15:00.000000001Z', 1)).toBe(false);
    expect(isOnIntervalGrid('2026-11-25T12:15:01Z', 1)).toBe(true);
    expect(isOnIntervalGrid('not a date', 1)).toBe(false);
  });
});

describe('rated power', () => {
  it('caps energy at max_kw × interval exactly, without floats', () => {
    expect(maxKwhPerInterval('400', 900)).toBe('100');
    expect(maxKwhPerInterval('25.5', 300)).toBe('2.125');
    expect(maxKwhPerInterval('1', 1)).toBe('0.000277777'); // rounded down for display only
    // the comparison itself is exact: 1 kW for 1 s is 1/3600 kWh
    expect(withinRatedPower(277_777n, '1', 1)).toBe(true);
    expect(withinRatedPower(277_778n, '1', 1)).toBe(false);
    expect(withinRatedPower(kwhToBaseUnits('100'), '400', 900)).toBe(true);
    expect(withinRatedPower(kwhToBaseUnits('100.000000001'), '400', 900)).toBe(false);
    expect(maxEnergyBaseUnits('99999999999.999999999', 86_400)).toBe(kwhToBaseUnits('2399999999999.999999976'));
  });

  it('checks the grid first, then the energy, with reason codes', () => {
    const meter = { intervalSeconds: 900, maxKw: '400' };
    expect(checkIntervalReading('2026-11-25T12:15:00Z', kwhToBaseUnits('100'), meter)).toEqual({ ok: true });
    expect(checkIntervalReading('2026-11-25T12:15:00.000001Z', 1n, meter)).toMatchObject({ ok: false, reason: 'misaligned_timestamp' });
    expect(checkIntervalReading('2026-11-25T12:15:00Z', kwhToBaseUnits('90') * 2n, meter)).toMatchObject({ ok: false, reason: 'implausible_energy' });
  });
});
