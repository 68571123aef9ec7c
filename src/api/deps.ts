import type { ErcService } from '../erc/service.js';
import type { MeterRegistry } from '../ingest/meter-registry.js';
import type { Metrics } from '../metrics/registry.js';
import type { TokenService } from '../mint/service.js';
import type { Pool } from '../store/pool.js';
import type { ReadingSubmitter } from './routes/readings.js';
import type { Readiness } from './routes/system.js';

/**
 * Everything the routes need, built once by the composition root (`main.ts`). Every route module
 * is `xRoutes(deps)` over this one shape; a module names the part it uses with `Pick<ApiDeps, …>`
 * so a test builds only that part.
 */
export interface ApiDeps {
  /** read-only views (my readings) */
  pool: Pool;
  /** meter registration and status: the service `gridmint meter …` uses too (provisions dynsec) */
  meters: MeterRegistry;
  /** ingest: a raw payload into the pipeline, answered after its commit */
  submit: { reading: ReadingSubmitter; ocmf: ReadingSubmitter };
  tokens: TokenService;
  erc: ErcService;
  metrics: Metrics;
  readiness: Readiness;
  limits: {
    /** requests per minute per client on public routes that reach the chain (default: the write limit) */
    publicPerMinute?: number;
  };
}
