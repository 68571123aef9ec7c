import { validate } from 'node-cron';
import type { Logger } from 'pino';
import { startPeriodic } from '../lib/periodic.js';
import type { Minter } from './minter.js';

export interface MintSchedule {
  stop(): Promise<void>;
}

/**
 * Runs the minter on MINT_SCHEDULE. A tick is skipped while the previous run is still going (a run
 * waits for finality, so it can outlast a one-minute tick); the minter's own guard and the
 * advisory lock cover on-demand runs and other gateways.
 */
export function scheduleMinting(minter: Minter, expression: string, logger: Logger): MintSchedule {
  if (!validate(expression)) throw new Error(`config: MINT_SCHEDULE ${JSON.stringify(expression)} is not a valid cron expression`);
  const log = logger.child({ component: 'mint-schedule' });
  const task = startPeriodic({ name: 'gridmint-mint', cron: expression, run: () => minter.run('schedule'), logger: log });
  log.info({ schedule: expression }, 'batch minting scheduled');
  return {
    async stop() {
      await task.stop();
      await minter.stop();
    },
  };
}
