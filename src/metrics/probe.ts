import type { Started } from '../lib/component.js';
import { startPeriodic } from '../lib/periodic.js';

/**
 * Runs gauge-refreshing tasks on an interval, so health gauges (database, stale meters)
 * stay current even when nobody calls /health/ready — alert rules read them. A failing task must
 * not stop the others, and a slow one must not pile up behind itself.
 */
export async function startProbe(deps: { name: string; everyMs: number; tasks: Array<() => Promise<unknown>> }): Promise<Started> {
  return startPeriodic({ name: deps.name, everyMs: deps.everyMs, run: () => Promise.allSettled(deps.tasks.map((t) => t())) });
}
