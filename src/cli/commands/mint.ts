import type { Command } from 'commander';
import { CliError, cliContext, output } from '../context.js';
import { withMinting } from './token.js';

export function registerMint(program: Command): void {
  program
    .command('mint')
    .description('run one batch mint now (reconcile, claim unminted readings, send, wait for finality)')
    .action(async (_o, cmd: Command) => {
      const ctx = cliContext(cmd);
      const r = await withMinting(ctx, (_pool, _chain, minter) => minter.run('cli'));
      const median = [...r.instructionsPerTx].sort((a, b) => a - b)[Math.floor(r.instructionsPerTx.length / 2)] ?? 0;
      output(ctx, r, r.result === 'skipped'
        ? 'another minter holds the lock (the daemon is probably minting); nothing done'
        : [
            `result        ${r.result}${r.error ? ` (${r.error})` : ''}`,
            `readings      ${r.readings} for ${r.wallets} wallets`,
            `transactions  ${r.transactions} (confirmed ${r.confirmed}, expired ${r.expired}, failed ${r.failed}, unresolved ${r.unresolved}); median ${median} instructions`,
            `reconciled    ${r.reconciled} earlier transactions`,
            `minted        ${r.minted_kwh} kWh in ${r.duration_ms} ms`,
          ]);
      if (r.result === 'failed') throw new CliError(`mint run failed: ${r.error ?? `${r.expired + r.failed + r.unresolved} transactions did not confirm`}`, 'mint_failed');
    });
}
