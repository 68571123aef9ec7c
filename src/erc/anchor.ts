import type { Logger } from 'pino';
import { ChainUnavailableError } from '../chain/errors.js';
import { anchorMemo } from '../domain/erc.js';
import { backoffDelay } from '../lib/backoff.js';
import { startPeriodic, type Periodic } from '../lib/periodic.js';
import type { Metrics } from '../metrics/registry.js';
import type { Pool } from '../store/pool.js';
import { claimUnanchored, countUnanchored, markAnchorFailed, markAnchored } from '../store/certificate-anchors.js';
import type { MemoChain } from './chain.js';

export interface AnchorJobOptions {
  pool: Pool;
  chain: MemoChain;
  logger: Logger;
  metrics?: Metrics;
  /** how often pending anchors are retried (default 10 s) */
  intervalMs?: number;
  /** certificates per run (default 50) */
  batch?: number;
  /** how long a claimed row is reserved for this run (default 60 s) */
  leaseMs?: number;
}

export interface AnchorJob {
  start(): void;
  /** Waits for a run in progress, then stops scheduling. */
  stop(): Promise<void>;
  /** Ask for a run soon (after an issuance); coalesces with a pending one. Never throws. */
  kick(): void;
  /** One run now (tests, CLI); resolves with how many certificates were anchored. */
  runOnce(): Promise<number>;
}

/** Retry delay after `attempts` failed sends: 2 s doubling, capped at 5 minutes. */
export function anchorBackoffMs(attempts: number): number {
  return backoffDelay(attempts - 1, { initialMs: 2_000, maxMs: 300_000 });
}

/**
 * Sends the SPL Memo anchoring each new certificate's content hash, outside the request that
 * issued it: issuance never waits for the chain. Unanchored rows are claimed under a lease, so
 * several gateways can run this job; a crash between send and record leaves the row pending and
 * it is anchored again later (a second memo with the same hash — harmless, verify uses the one
 * whose signature is stored).
 */
export function createAnchorJob(opts: AnchorJobOptions): AnchorJob {
  const log = opts.logger.child({ component: 'erc-anchor' });
  const intervalMs = opts.intervalMs ?? 10_000;
  const batch = opts.batch ?? 50;
  const leaseMs = opts.leaseMs ?? 60_000;
  let job: Periodic | null = null;
  let running: Promise<number> | null = null;
  let again = false;
  let stopped = true;

  const runOnce = async (): Promise<number> => {
    const claims = await claimUnanchored(opts.pool, batch, leaseMs);
    let anchored = 0;
    for (const [i, c] of claims.entries()) {
      try {
        const signature = await opts.chain.sendMemo(anchorMemo(c.certificate_id, c.content_hash));
        await markAnchored(opts.pool, c.certificate_id, signature);
        anchored++;
        log.info({ certificate_id: c.certificate_id, signature }, 'certificate anchored');
      } catch (err) {
        const down = err instanceof ChainUnavailableError;
        log.warn({ certificate_id: c.certificate_id, attempts: c.anchor_attempts, err: (err as Error).message }, 'anchor failed; will retry');
        // The chain being down fails every remaining send the same way: release them all now.
        for (const rest of down ? claims.slice(i) : [c]) {
          await markAnchorFailed(opts.pool, rest.certificate_id, (err as Error).message, anchorBackoffMs(rest.anchor_attempts));
        }
        if (down) break;
      }
    }
    opts.metrics?.ercAnchorsPending.set(await countUnanchored(opts.pool));
    return anchored;
  };

  const tick = (): Promise<number> => {
    if (running) {
      again = true;
      return running;
    }
    running = runOnce()
      .catch((err: unknown) => {
        log.error({ err }, 'anchor run failed');
        return 0;
      })
      .finally(() => {
        running = null;
        if (again && !stopped) {
          again = false;
          void tick();
        }
      });
    return running;
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      job = startPeriodic({ name: 'erc-anchor', everyMs: intervalMs, run: tick });
    },
    async stop() {
      stopped = true;
      await job?.stop();
      job = null;
      await running;
    },
    kick() {
      if (!stopped) void tick();
    },
    runOnce: tick,
  };
}
