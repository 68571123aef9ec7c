import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoPath } from './ops-files.js';

/**
 * Node loads a package once per folder it is installed in. When npm nests a copy of a shared
 * package under each dependent, the daemon loads (and keeps in memory) each copy: before issue 11
 * it loaded @solana/errors 27 times and @solana/codecs-core 13 times (≈ 10 MiB of RSS), because
 * spl-token's 2.0.0-rc.1 codecs held the top-level places that @solana/kit's 8.4.0 family needed.
 */
describe('package-lock.json layout', () => {
  const packages = (JSON.parse(readFileSync(repoPath('package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> }).packages;
  const KIT_FAMILY = ['errors', 'codecs', 'codecs-core', 'codecs-numbers', 'codecs-strings', 'codecs-data-structures', 'options'];

  it.each(KIT_FAMILY)('@solana/%s of @solana/kit\'s version is installed once, at the top level', (name) => {
    const kit = packages['node_modules/@solana/kit']!.version!;
    const copies = Object.entries(packages).filter(([path, p]) => path.endsWith(`node_modules/@solana/${name}`) && p.version === kit).map(([path]) => path);
    expect(copies).toEqual([`node_modules/@solana/${name}`]);
  });
});
