import { startPeriodic, type Periodic } from '../lib/periodic.js';
import { kwhMetricValue, numericToBaseUnits } from '../domain/kwh.js';
import type { Metrics } from '../metrics/registry.js';
import { unmintedStats } from '../store/mint-readings.js';
import type { Pool } from '../store/pool.js';

/** Mint lag for dashboards: unminted kWh (a float is fine here, the audit is exact) and the oldest one's age. */
export async function refreshUnmintedGauges(pool: Pool, metrics: Metrics): Promise<void> {
  const s = await unmintedStats(pool);
  metrics.unmintedKwh.set(kwhMetricValue(numericToBaseUnits(s.kwh)));
  metrics.oldestUnmintedAge.set(s.oldestReceivedAt ? Math.max(0, (Date.now() - s.oldestReceivedAt.getTime()) / 1000) : 0);
}

/** Refreshes the gauges every intervalMs between runs, so lag shows even when minting is stuck. */
export function startGaugeRefresh(pool: Pool, metrics: Metrics, chainProbe?: () => Promise<unknown>, intervalMs = 15_000): Periodic {
  return startPeriodic({
    name: 'mint-gauges',
    everyMs: intervalMs,
    run: () =>
      Promise.allSettled([
        refreshUnmintedGauges(pool, metrics),
        chainProbe?.().then(() => metrics.chainUp.set(1), () => metrics.chainUp.set(0)),
      ]),
  });
}
