// First: compiled stack traces name src/ lines (see stack-traces.ts).
import '../stack-traces.js';
import { Command } from 'commander';
import { fail } from './context.js';
import { registerStart } from './commands/start.js';
import { registerMigrate } from './commands/migrate.js';
import { registerKeygen } from './commands/keygen.js';
import { registerMeter } from './commands/meter.js';
import { registerSimulate } from './commands/simulate.js';
import { registerToken } from './commands/token.js';
import { registerMint } from './commands/mint.js';
import { registerUser } from './commands/user.js';

const program = new Command('gridmint')
  .description('Signed smart-meter readings → Postgres → SPL energy tokens and ERC certificates')
  .option('--json', 'machine-readable output')
  .showHelpAfterError();

registerStart(program);
registerMigrate(program);
registerKeygen(program);
registerMeter(program);
registerSimulate(program);
registerToken(program);
registerMint(program);
registerUser(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  fail(err, process.argv.includes('--json'));
}
