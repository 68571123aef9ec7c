import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layer rule of docs/ARCHITECTURE.md, enforced: which top-level folder of src/ may import
 * which. `domain` is pure (no other layer); the data layer knows nothing of HTTP, transports or
 * jobs; features do not import each other; only the CLI and the composition root see everything.
 * `lib` (generic primitives, importing no layer) may be used by all.
 * A new folder must be added here on purpose, so the rule cannot be bypassed by a new name.
 */
const ALLOWED: Record<string, readonly string[]> = {
  // lib: generic primitives (backoff, periodic jobs, single-flight caches) with no project knowledge
  lib: [],
  domain: [],
  config: [],
  metrics: ['domain'],
  store: ['domain', 'data-dir'],
  chain: ['domain', 'data-dir'],
  ingest: ['domain', 'store', 'metrics', 'config', 'data-dir', 'logger'],
  mint: ['domain', 'store', 'chain', 'metrics', 'config', 'data-dir', 'logger'],
  erc: ['domain', 'store', 'chain', 'metrics', 'config'],
  api: ['domain', 'store', 'chain', 'mint', 'erc', 'ingest', 'metrics', 'config', 'data-dir', 'logger'],
  cli: ['*'],
  types: [],
};
const ROOT_FILES = new Set(['main', 'logger', 'data-dir', 'stack-traces']);

const SRC = resolve(__dirname, '../../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** The top-level unit of src/ a path belongs to: a folder name, or a root file's name. */
function unitOf(path: string): string {
  const first = relative(SRC, path).split(sep)[0] ?? '';
  return first.replace(/\.(ts|js)$/, '');
}

function imports(source: string): string[] {
  const found: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(re)) found.push(m[1] ?? m[2] ?? m[3] ?? '');
  return found;
}

describe('layer rule (docs/ARCHITECTURE.md)', () => {
  const all = files(SRC);

  it('knows every top-level folder of src/', () => {
    const units = new Set(all.map(unitOf).filter((u) => !ROOT_FILES.has(u)));
    expect([...units].filter((u) => !(u in ALLOWED))).toEqual([]);
  });

  it('no module imports a layer it may not see', () => {
    const violations: string[] = [];
    for (const file of all) {
      const from = unitOf(file);
      if (ROOT_FILES.has(from) && from === 'main') continue; // the composition root wires everything
      const allowed = ALLOWED[from] ?? [];
      for (const spec of imports(readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(SRC + sep)) continue;
        const to = unitOf(target);
        if (to === from || to === 'lib' || allowed.includes('*') || allowed.includes(to)) continue;
        violations.push(`${relative(SRC, file)} → ${spec}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the rule itself catches a forbidden import', () => {
    // Guard against a regex that silently matches nothing: a domain file importing the store.
    expect(imports("import { x } from '../store/pool.js';\nimport '../ingest/side-effect.js';\nconst y = await import('../api/app.js');")).toEqual([
      '../store/pool.js',
      '../ingest/side-effect.js',
      '../api/app.js',
    ]);
  });
});
