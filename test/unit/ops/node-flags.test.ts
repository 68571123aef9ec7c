import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startNodeFlags } from '../../harness/index.js';
import { repoPath } from './ops-files.js';

/**
 * The daemon's memory budget depends on its V8 heap flags (a heap limit ≤ 256 MiB gives V8's
 * smallest heap-growth factor; see README "Measured figures"). The daemon is started three ways:
 * `npm start`, the installed `gridmint` bin, and the Docker image. All three must pass the same
 * flags, and tests and benches (test/harness/daemon.ts) take them from `npm start`.
 */
describe('daemon node flags', () => {
  const fromStart = startNodeFlags();

  it('npm start caps the old generation at 256 MiB and the young generation at 2 × 8 MiB', () => {
    expect(fromStart).toContain('--max-old-space-size=256');
    // With the embedded broker's read gate the backlog on the heap is ≤ ≈ 4,000 readings, and a
    // smaller young generation measured no throughput cost (it did with 20,000 parsed in flight).
    expect(fromStart).toContain('--max-semi-space-size=8');
  });

  it('the gridmint bin passes the same flags in its shebang', () => {
    const shebang = readFileSync(repoPath('bin/gridmint.js'), 'utf8').split('\n')[0]!;
    expect(shebang.startsWith('#!/usr/bin/env -S node ')).toBe(true);
    expect(shebang.split(/\s+/).filter((w) => w.startsWith('--'))).toEqual(fromStart);
  });

  it('the Docker image passes the same flags to node', () => {
    const line = readFileSync(repoPath('Dockerfile'), 'utf8').split('\n').find((l) => l.startsWith('ENTRYPOINT'))!;
    const argv = JSON.parse(line.slice('ENTRYPOINT'.length)) as string[];
    expect(argv[0]).toBe('node');
    expect(argv.filter((w) => w.startsWith('--'))).toEqual(fromStart);
    expect(argv.at(-1)).toBe('bin/gridmint.js');
  });
});
