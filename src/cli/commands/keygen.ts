import { writeFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { generateMeterKey } from '../../domain/sign.js';
import { CliError, cliContext, output } from '../context.js';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('create an ed25519 meter keypair file (Solana CLI format) and print its public key')
    .option('--out <path>', 'where to write the keypair (default DATA_DIR/keys/meter-<pubkey>.json)')
    .action(async (opts: { out?: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const key = generateMeterKey();
      const path = resolve(opts.out ?? join(ctx.config.DATA_DIR, 'keys', `meter-${key.publicKey}.json`));
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      try {
        // 'wx': never overwrite an existing key — losing a meter key orphans the meter.
        await writeFile(path, `${JSON.stringify(Array.from(key.secretKey))}\n`, { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`refusing to overwrite ${path}`, 'exists');
        throw err;
      }
      output(ctx, { public_key: key.publicKey, keypair_path: path }, [key.publicKey, `keypair written to ${path} (mode 0600)`]);
    });
}
