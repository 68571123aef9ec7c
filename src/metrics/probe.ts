/**
 * Runs gauge-refreshing tasks on an interval, so health gauges (database, stale meters)
 * stay current even when nobody calls /health/ready — alert rules read them. A failing task must
 * not stop the others, and a slow one must not pile up behind itself.
 */
export function startProbe(intervalMs: number, tasks: Array<() => Promise<unknown>>): { stop(): void } {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      await Promise.allSettled(tasks.map((t) => t()));
    } finally {
      running = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
