/**
 * kWh ↔ token base units. 1 kWh = 1 token = 10^9 base units, exactly. Everything here is string
 * and bigint arithmetic: a float on this path would silently create or destroy value.
 */
export const DECIMALS = 9;
export const BASE_UNITS_PER_KWH = 10n ** BigInt(DECIMALS);
/** The largest amount a u64 token account can hold. */
export const U64_MAX = 2n ** 64n - 1n;

const DECIMAL = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

export class AmountError extends Error {
  override name = 'AmountError';
}

/** Parses a decimal string with at most 9 fractional digits into base units (may be ≤ 0). */
export function kwhToBaseUnits(kwh: string): bigint {
  const m = DECIMAL.exec(kwh);
  if (!m) throw new AmountError(`not a decimal number: ${JSON.stringify(kwh)}`);
  const [, sign, whole, frac = ''] = m;
  if (frac.length > DECIMALS) throw new AmountError(`more than ${DECIMALS} fractional digits: ${kwh}`);
  const units = BigInt(whole!) * BASE_UNITS_PER_KWH + BigInt(frac.padEnd(DECIMALS, '0'));
  return sign === '-' ? -units : units;
}

/** Base units → canonical decimal string without trailing zeros ("1.5", "0.000000001", "12"). */
export function baseUnitsToKwh(units: bigint): string {
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const whole = abs / BASE_UNITS_PER_KWH;
  const frac = (abs % BASE_UNITS_PER_KWH).toString().padStart(DECIMALS, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** Postgres renders NUMERIC(20,9) with trailing zeros ("1.500000000"); both forms parse. */
function normaliseNumeric(v: string): string {
  return v.includes('.') ? v.replace(/0+$/, '').replace(/\.$/, '') : v;
}

export function numericToBaseUnits(v: string): bigint {
  return kwhToBaseUnits(normaliseNumeric(v));
}

/**
 * kWh as a Prometheus sample. Metrics are float64 by nature, so this is the one place exact base
 * units become a float — for dashboards only; nothing on the money path reads it back.
 */
export function kwhMetricValue(baseUnits: bigint): number {
  return Number(baseUnitsToKwh(baseUnits));
}
