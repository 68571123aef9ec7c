import type { Logger } from 'pino';
import type { Started } from '../lib/component.js';
import type { Metrics } from '../metrics/registry.js';
import type { Pool } from '../store/pool.js';
import { createAnchorJob } from './anchor.js';
import type { MemoChain } from './chain.js';
import { createErcService, type ErcService } from './service.js';

export interface Erc extends Started {
  service: ErcService;
}

/** Certificates and their on-chain anchors: issuance never waits for the chain; the job retries. */
export async function startErc(o: { pool: Pool; metrics: Metrics; logger: Logger; chain: MemoChain }): Promise<Erc> {
  const anchor = createAnchorJob({ pool: o.pool, chain: o.chain, logger: o.logger, metrics: o.metrics });
  const service = createErcService({ pool: o.pool, chain: o.chain, metrics: o.metrics, onIssued: () => anchor.kick() });
  anchor.start();
  return { service, stop: () => anchor.stop() };
}
