import { join, resolve } from 'node:path';
import { Keypair } from '@solana/web3.js';
import type { Command } from 'commander';
import { writeKeypairFile } from '../../chain/keys.js';
import { CliError, cliContext, output } from '../context.js';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('create an ed25519 meter keypair file (Solana CLI format) and print its public key')
    .option('--out <path>', 'where to write the keypair (default DATA_DIR/keys/meter-<pubkey>.json)')
    .action(async (opts: { out?: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const keypair = Keypair.generate();
      const publicKey = keypair.publicKey.toBase58();
      const path = resolve(opts.out ?? join(ctx.config.DATA_DIR, 'keys', `meter-${publicKey}.json`));
      try {
        // Never overwrite an existing key — losing a meter key orphans the meter.
        await writeKeypairFile(path, { keypair });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`refusing to overwrite ${path}`, 'exists');
        throw err;
      }
      output(ctx, { public_key: publicKey, keypair_path: path }, [publicKey, `keypair written to ${path} (mode 0600)`]);
    });
}
