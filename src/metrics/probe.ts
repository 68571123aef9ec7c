import { startPeriodic, type Periodic } from '../lib/periodic.js';

/**
 * Runs gauge-refreshing tasks on an interval, so health gauges (database, stale meters)
 * stay current even when nobody calls /health/ready — alert rules read them. A failing task must
 * not stop the others, and a slow one must not pile up behind itself.
 */
export function startProbe(intervalMs: number, tasks: Array<() => Promise<unknown>>): Periodic {
  return startPeriodic({ name: 'health-probe', everyMs: intervalMs, run: () => Promise.allSettled(tasks.map((t) => t())) });
}
