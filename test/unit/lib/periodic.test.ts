import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startPeriodic } from '../../../src/lib/periodic.js';

/** A run the test finishes by hand, to hold it "in progress". */
function gate() {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('startPeriodic (everyMs)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs at start, then everyMs after each run ends', async () => {
    const run = vi.fn(async () => {});
    const job = startPeriodic({ name: 't', everyMs: 1_000, run });
    await vi.advanceTimersByTimeAsync(0);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(run).toHaveBeenCalledTimes(5);
    await job.stop();
  });

  it('never overlaps: a slow run delays the next one instead of piling up', async () => {
    const g = gate();
    let active = 0;
    let maxActive = 0;
    const run = vi.fn(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      if (run.mock.calls.length === 1) await g.promise;
      active--;
    });
    const job = startPeriodic({ name: 't', everyMs: 100, run });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(run).toHaveBeenCalledTimes(1);
    g.open();
    await vi.advanceTimersByTimeAsync(100);
    expect(run).toHaveBeenCalledTimes(2);
    expect(maxActive).toBe(1);
    await job.stop();
  });

  it('a failing run is reported and the schedule goes on', async () => {
    const errors: unknown[] = [];
    const logged: unknown[] = [];
    const logger = { error: (o: unknown) => logged.push(o) } as never;
    let n = 0;
    const job = startPeriodic({
      name: 'flaky',
      everyMs: 50,
      logger,
      onError: (e) => errors.push(e),
      run: async () => {
        if (++n === 1) throw new Error('boom');
      },
    });
    await vi.advanceTimersByTimeAsync(200);
    expect(n).toBeGreaterThanOrEqual(4);
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom']);
    expect(logged).toMatchObject([{ job: 'flaky' }]);
    await job.stop();
  });

  it('runAtStart: false waits one interval first', async () => {
    const run = vi.fn(async () => {});
    const job = startPeriodic({ name: 't', everyMs: 500, run, runAtStart: false });
    await vi.advanceTimersByTimeAsync(499);
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(1);
    await job.stop();
  });

  it('stop() waits for the run in progress and nothing runs after it', async () => {
    const g = gate();
    let finished = false;
    const run = vi.fn(async () => {
      await g.promise;
      finished = true;
    });
    const job = startPeriodic({ name: 't', everyMs: 100, run });
    await vi.advanceTimersByTimeAsync(0);
    let stopped = false;
    const stopping = job.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    g.open();
    await stopping;
    expect(finished).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(run).toHaveBeenCalledTimes(1);
  });
});

describe('startPeriodic (cron)', () => {
  it('refuses an invalid expression and a job with both or neither schedule', () => {
    const run = async () => {};
    expect(() => startPeriodic({ name: 'x', cron: 'not cron', run })).toThrow(/not a valid cron expression/);
    expect(() => startPeriodic({ name: 'x', cron: '* * * * *', everyMs: 5, run })).toThrow(/exactly one/);
    expect(() => startPeriodic({ name: 'x', run })).toThrow(/exactly one/);
  });

  it('runs on the expression (every second) without overlapping, and stops', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const job = startPeriodic({
      name: 'cron',
      cron: '* * * * * *',
      run: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs++;
        await new Promise((r) => setTimeout(r, 1_500)); // outlasts the next tick
        active--;
      },
    });
    await vi.waitFor(() => expect(runs).toBeGreaterThanOrEqual(2), { timeout: 15_000, interval: 50 });
    await job.stop();
    const after = runs;
    expect(active).toBe(0);
    expect(maxActive).toBe(1);
    await new Promise((r) => setTimeout(r, 1_200));
    expect(runs).toBe(after);
  }, 20_000);
});
