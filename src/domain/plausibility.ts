import { AmountError, baseUnitsToKwh, kwhToBaseUnits } from './kwh.js';

/**
 * Physical plausibility of interval energy, the "validation" rules of meter-data management:
 * a reading closes an interval on a fixed UTC grid, and a meter cannot deliver more than its
 * rated power for that long. With the unique (meter, timestamp) key this bounds any meter's
 * accepted energy by rated power × elapsed time, however its readings are timestamped.
 *
 * Everything here is exact: kW and kWh as decimal strings / bigint base units (10⁻⁹), seconds as
 * integers; nothing passes through a float.
 */

export const SECONDS_PER_DAY = 86_400;
export const DEFAULT_INTERVAL_SECONDS = 900;
/** 400 kW over the default 15 minutes is 100 kWh, the per-reading cap gridmint had before. */
export const DEFAULT_MAX_KW = '400';

/** Allowed intervals: the divisors of one day (1 s … 86,400 s), so the grid starts at midnight UTC. */
export function isValidIntervalSeconds(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= SECONDS_PER_DAY && SECONDS_PER_DAY % n === 0;
}

/** Why a rated power is unusable, or null. Accepts what kwhToBaseUnits accepts, and > 0. */
export function maxKwProblem(maxKw: string): string | null {
  try {
    return kwhToBaseUnits(maxKw) > 0n ? null : 'max kW must be greater than 0';
  } catch (err) {
    return (err as AmountError).message;
  }
}

/**
 * Seconds since the Unix epoch of an RFC 3339 timestamp, or null when it has a non-zero fraction
 * of a second (or is not a date). The fraction is read from the text itself: Date.parse keeps only
 * milliseconds, so `…00.000001Z` and `…00.000002Z` would otherwise look like the same instant.
 */
export function wholeEpochSeconds(timestamp: string): number | null {
  const m = /^(.*[Tt ]\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})$/.exec(timestamp);
  if (!m) return null;
  if (m[2] !== undefined && /[1-9]/.test(m[2])) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  return Number.isNaN(ms) ? null : ms / 1000;
}

/** The timestamp is a whole multiple of the interval since 1970-01-01T00:00:00Z. */
export function isOnIntervalGrid(timestamp: string, intervalSeconds: number): boolean {
  const s = wholeEpochSeconds(timestamp);
  return s !== null && Number.isInteger(s) && s % intervalSeconds === 0;
}

/** The most energy, in base units, a meter of rated power `maxKw` can deliver in `seconds` (rounded down). */
export function maxEnergyBaseUnits(maxKw: string, seconds: number): bigint {
  return (kwhToBaseUnits(maxKw) * BigInt(seconds)) / 3600n;
}

/** `energyBaseUnits` ≤ max_kw × seconds / 3600 h, compared without rounding (cross-multiplied). */
export function withinRatedPower(energyBaseUnits: bigint, maxKw: string, seconds: number): boolean {
  return energyBaseUnits * 3600n <= kwhToBaseUnits(maxKw) * BigInt(seconds);
}

/** The per-reading cap as a kWh decimal string, for display (`meter list`, the admin API). */
export function maxKwhPerInterval(maxKw: string, intervalSeconds: number): string {
  return baseUnitsToKwh(maxEnergyBaseUnits(maxKw, intervalSeconds));
}

export type IntervalCheck = { ok: true } | { ok: false; reason: 'misaligned_timestamp' | 'implausible_energy'; detail: string };

/**
 * Both interval rules for one reading: the timestamp on the meter's grid, then the energy within
 * rated power × interval. Pure, so register meters and other sources can apply the same rules.
 */
export function checkIntervalReading(
  timestamp: string,
  energyBaseUnits: bigint,
  meter: { intervalSeconds: number; maxKw: string },
): IntervalCheck {
  if (!isOnIntervalGrid(timestamp, meter.intervalSeconds)) {
    return { ok: false, reason: 'misaligned_timestamp', detail: `timestamp ${timestamp} is not on the meter's ${meter.intervalSeconds}-second grid` };
  }
  if (!withinRatedPower(energyBaseUnits, meter.maxKw, meter.intervalSeconds)) {
    const cap = maxKwhPerInterval(meter.maxKw, meter.intervalSeconds);
    return { ok: false, reason: 'implausible_energy', detail: `${baseUnitsToKwh(energyBaseUnits)} kWh exceeds ${meter.maxKw} kW × ${meter.intervalSeconds} s = ${cap} kWh` };
  }
  return { ok: true };
}
