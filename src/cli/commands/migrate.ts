import type { Command } from 'commander';
import { cliContext, output, withDatabase } from '../context.js';
import { migrate } from '../../store/migrate.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (the daemon also does this at start-up)')
    .action(async (_opts, cmd: Command) => {
      const ctx = cliContext(cmd);
      const applied = await withDatabase(ctx, async (_pool, url) => migrate(url, ctx.logger), { migrate: false });
      output(ctx, { applied }, applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    });
}
