import type { Command } from 'commander';
import { loadConfig, redactUrl } from '../../config/load.js';
import { asyncStdout, createLogger } from '../../logger.js';
import { startGateway, type Gateway } from '../../main.js';
import { explainStartFailure } from '../start-failure.js';

/** One line for the person who ran `gridmint start`: where everything listens. */
export function readyLine(gateway: Pick<Gateway, 'urls' | 'config'>): string {
  const u = gateway.urls;
  const parts = [
    `MQTT ${u.mqtt ? redactUrl(u.mqtt) : 'none'}`,
    `HTTP ${u.http} (API docs ${u.http}/docs)`,
    `ledger ${u.ledger ?? (gateway.config.SOLANA_RPC_URL ? redactUrl(gateway.config.SOLANA_RPC_URL) : 'none')}`,
    `database ${u.database}`, // already without its password
    `data ${gateway.config.DATA_DIR}`,
  ];
  return `gridmint ready: ${parts.join(' · ')}`;
}

export function registerStart(program: Command): void {
  program
    .command('start', { isDefault: false })
    .description('run the gateway daemon (embedded broker, database and ledger unless configured otherwise)')
    .action(async () => {
      const config = loadConfig();
      // JSON lines for machines; a person at a terminal gets the same events pretty-printed
      // (pino-pretty loaded only then: a daemon under a supervisor never needs its memory).
      const destination = process.stdout.isTTY
        ? (await import('pino-pretty')).default({ colorize: true, sync: true, ignore: 'pid,hostname,service' })
        : asyncStdout();
      const logger = createLogger(config.LOG_LEVEL, destination);
      let gateway: Gateway;
      try {
        gateway = await startGateway(config, logger);
      } catch (err) {
        throw await explainStartFailure(err, config);
      }
      // stderr, so stdout stays pure JSON log lines for whatever collects them.
      process.stderr.write(`${readyLine(gateway)}\n`);
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
