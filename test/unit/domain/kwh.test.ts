import { describe, expect, it } from 'vitest';
import { AmountError, baseUnitsToKwh, kwhToBaseUnits, numericToBaseUnits } from '../../../src/domain/kwh.js';

describe('kWh ↔ base units', () => {
  it('converts exactly, including the smallest unit and long sums', () => {
    expect(kwhToBaseUnits('0.000000001')).toBe(1n);
    expect(kwhToBaseUnits('1')).toBe(1_000_000_000n);
    expect(kwhToBaseUnits('12345.678901234')).toBe(12_345_678_901_234n);
    // 0.1 + 0.2 is the classic float trap; here it is exactly 0.3
    expect(kwhToBaseUnits('0.1') + kwhToBaseUnits('0.2')).toBe(kwhToBaseUnits('0.3'));
    expect(Array.from({ length: 10_000 }, () => numericToBaseUnits('0.000000001')).reduce((a, b) => a + b, 0n)).toBe(10_000n);
  });

  it('reads Postgres NUMERIC renderings with trailing zeros', () => {
    expect(numericToBaseUnits('1.500000000')).toBe(1_500_000_000n);
    expect(numericToBaseUnits('100')).toBe(100_000_000_000n);
  });

  it('formats base units back to a minimal decimal string', () => {
    expect(baseUnitsToKwh(1n)).toBe('0.000000001');
    expect(baseUnitsToKwh(12_345_678_901_234n)).toBe('12345.678901234');
    expect(baseUnitsToKwh(5_000_000_000n)).toBe('5');
    expect(baseUnitsToKwh(0n)).toBe('0');
  });

  it('refuses more than 9 fractional digits and non-decimals', () => {
    expect(() => kwhToBaseUnits('0.0000000001')).toThrow(AmountError);
    expect(() => kwhToBaseUnits('1e3')).toThrow(AmountError);
    expect(() => kwhToBaseUnits('01.5')).toThrow(AmountError);
    expect(() => kwhToBaseUnits(' 1')).toThrow(AmountError);
  });
});
