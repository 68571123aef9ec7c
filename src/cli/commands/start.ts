import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../logger.js';
import { startGateway } from '../../main.js';

export function registerStart(program: Command): void {
  program
    .command('start', { isDefault: false })
    .description('run the gateway daemon (embedded broker, database and ledger unless configured otherwise)')
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger(config.LOG_LEVEL);
      const gateway = await startGateway(config, logger);
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ component: 'main', signal }, 'shutting down');
        // A second signal or a hung dependency must not keep the process alive forever.
        setTimeout(() => process.exit(1), 30_000).unref();
        gateway.stop().then(
          () => {
            logger.info({ component: 'main' }, 'gateway stopped cleanly');
            process.exit(0);
          },
          (err: unknown) => {
            logger.error({ component: 'main', err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
    });
}
