import { schedule, validate } from 'node-cron';
import type { Logger } from 'pino';
import type { Minter } from './minter.js';

export interface MintSchedule {
  stop(): Promise<void>;
}

/**
 * Runs the minter on MINT_SCHEDULE. noOverlap makes node-cron skip a tick while the previous run
 * is still going (a run waits for finality, so it can outlast a one-minute tick); the minter's own
 * guard and the advisory lock cover on-demand runs and other gateways.
 */
export function scheduleMinting(minter: Minter, expression: string, logger: Logger): MintSchedule {
  if (!validate(expression)) throw new Error(`config: MINT_SCHEDULE ${JSON.stringify(expression)} is not a valid cron expression`);
  const log = logger.child({ component: 'mint-schedule' });
  const task = schedule(expression, async () => {
    await minter.run('schedule');
  }, { name: 'gridmint-mint', noOverlap: true });
  log.info({ schedule: expression }, 'batch minting scheduled');
  return {
    async stop() {
      await task.destroy();
      await minter.stop();
    },
  };
}
