import { schedule, validate } from 'node-cron';
import type { Logger } from 'pino';

/**
 * The one way background work repeats. A job runs either every `everyMs` (measured from the end
 * of one run to the start of the next, so a slow run delays the next instead of piling up) or on
 * a `cron` expression (a tick that comes while a run is still going is skipped). Runs never
 * overlap. A failing run is logged and counted (onError) and the job keeps its schedule: one bad
 * run must not stop the work for good. stop() cancels what is scheduled and waits for a run in
 * progress, so nothing touches a pool the caller is about to close.
 */
export interface PeriodicOptions {
  /** names the job in logs */
  name: string;
  everyMs?: number;
  cron?: string;
  run: () => Promise<unknown> | unknown;
  /** run once right away (default: true with everyMs, false with cron) */
  runAtStart?: boolean;
  logger?: Logger;
  /** every failed run (a metric) */
  onError?: (err: unknown) => void;
}

export interface Periodic {
  stop(): Promise<void>;
}

export function startPeriodic(o: PeriodicOptions): Periodic {
  if ((o.everyMs === undefined) === (o.cron === undefined)) throw new Error(`periodic job ${o.name}: give exactly one of everyMs and cron`);
  if (o.cron !== undefined && !validate(o.cron)) throw new Error(`periodic job ${o.name}: ${JSON.stringify(o.cron)} is not a valid cron expression`);
  let running: Promise<void> | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;

  const tick = (): Promise<void> => {
    if (running || stopped) return running ?? Promise.resolve();
    running = (async () => {
      try {
        await o.run();
      } catch (err) {
        o.onError?.(err);
        o.logger?.error({ job: o.name, err }, 'periodic job failed; it keeps its schedule');
      } finally {
        running = null;
      }
    })();
    return running;
  };

  if (o.cron !== undefined) {
    const task = schedule(o.cron, () => tick(), { name: o.name, noOverlap: true });
    if (o.runAtStart) void tick();
    return {
      async stop() {
        stopped = true;
        await task.destroy();
        await running;
      },
    };
  }

  const everyMs = o.everyMs!;
  const next = () => {
    if (stopped) return;
    timer = setTimeout(() => void tick().finally(next), everyMs);
    timer.unref();
  };
  if (o.runAtStart ?? true) void tick().finally(next);
  else next();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
