import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { Logger } from 'pino';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/**
 * Applies pending migrations from migrations/*.sql. node-pg-migrate takes a Postgres advisory
 * lock and, in 'wait' mode, a second instance starting at the same moment waits for the first
 * instead of failing or applying the same files twice.
 */
export async function migrate(databaseUrl: string, logger: Logger): Promise<string[]> {
  const log = logger.child({ component: 'migrate' });
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    checkOrder: true,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    log: (msg: string) => log.debug(msg),
    verbose: false,
  });
  const names = applied.map((m) => m.name);
  if (names.length) log.info({ applied: names }, 'migrations applied');
  return names;
}
