import { join, relative, resolve } from 'node:path';
import { Keypair } from '@solana/web3.js';
import type { Command } from 'commander';
import { writeKeypairFile } from '../../chain/keys.js';
import { METER_ID_PATTERN } from '../../domain/reading.js';
import type { Config } from '../../config/load.js';
import { CliError, cliContext, output } from '../context.js';

/**
 * Where `keygen --name N` writes, and where `simulate --meter N` looks by default: inside DATA_DIR
 * (./data, git-ignored), never the working directory, so secret keys stay out of a checkout.
 */
export function namedKeyPath(config: Pick<Config, 'DATA_DIR'>, name: string): string {
  return resolve(join(config.DATA_DIR, 'keys', 'meters', `${name}.json`));
}

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('create an ed25519 keypair file (Solana CLI format, mode 0600) and print its public key — a meter key, or an owner wallet for trials')
    .option('--name <name>', 'write DATA_DIR/keys/meters/<name>.json (e.g. the meter id; simulate --meter finds it there)')
    .option('--out <path>', 'write exactly here instead (default DATA_DIR/keys/meters/<pubkey>.json)')
    .action(async (opts: { name?: string; out?: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      if (opts.name && opts.out) throw new CliError('give --name or --out, not both', 'invalid_argument');
      if (opts.name && !new RegExp(METER_ID_PATTERN).test(opts.name)) throw new CliError('--name may use letters, digits, . _ - (1 to 64)', 'invalid_argument');
      const keypair = Keypair.generate();
      const publicKey = keypair.publicKey.toBase58();
      const path = opts.out ? resolve(opts.out) : namedKeyPath(ctx.config, opts.name ?? publicKey);
      try {
        // Never overwrite an existing key — losing a meter key orphans the meter.
        await writeKeypairFile(path, { keypair });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`refusing to overwrite ${path}`, 'exists');
        throw err;
      }
      if (relative(resolve(ctx.config.DATA_DIR), path).startsWith('..')) {
        // stderr, so --json output stays one document
        process.stderr.write(`gridmint: note: ${path} is outside DATA_DIR; keep this secret key out of version control\n`);
      }
      // stdout is the public key alone, so `OWNER=$(gridmint keygen --name owner-1)` works; the path is a note.
      if (!ctx.json) process.stderr.write(`keypair written to ${path} (mode 0600)\n`);
      output(ctx, { public_key: publicKey, keypair_path: path }, publicKey);
    });
}
