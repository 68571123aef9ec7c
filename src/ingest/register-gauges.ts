import { Gauge, type Registry } from 'prom-client';
import type { Pool } from '../store/pool.js';
import { holdStats, missingOcmfPages } from '../store/register-meters.js';

/**
 * Register-meter gauges (issue 10), read from the database at scrape time: a hold lasts until an
 * operator acts, so its state lives in the meters table, not in a process. A failed query keeps
 * the last value (gridmint_db_up says why).
 */
export function registerRegisterGauges(registry: Registry, pool: Pool): void {
  const registers = [registry];
  const quietly = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch {
      // database away: keep the last value
    }
  };
  new Gauge({
    name: 'gridmint_meters_on_hold',
    help: 'Register meters on hold after an unexplained drop (earning nothing until an operator resolves it)',
    registers,
    async collect() {
      await quietly(async () => this.set((await holdStats(pool)).count));
    },
  });
  new Gauge({
    name: 'gridmint_meter_hold_oldest_seconds',
    help: 'How long the longest current hold has lasted (0 when none)',
    registers,
    async collect() {
      await quietly(async () => {
        const since = (await holdStats(pool)).oldestSince;
        this.set(since ? Math.max(0, (Date.now() - since.getTime()) / 1000) : 0);
      });
    },
  });
  new Gauge({
    name: 'gridmint_ocmf_pages_missing',
    help: 'OCMF page counters (PG) missing between the lowest and highest received, over all meters',
    registers,
    async collect() {
      await quietly(async () => this.set(await missingOcmfPages(pool)));
    },
  });
}
