import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { reachable } from '../../../src/store/embedded-placement.js';

// Whether the embedded server's user can reach a path decides if the cluster and binaries must
// move out of (say) a 0700 home. Checked on real directories with real modes.
const base = mkdtempSync(join(tmpdir(), 'gridmint-reach-'));
chmodSync(base, 0o755);
afterAll(() => rmSync(base, { recursive: true, force: true }));

function tree(mode: number): { home: string; inner: string } {
  const home = mkdtempSync(join(base, 'home-'));
  const inner = join(home, 'checkout', 'data');
  mkdirSync(inner, { recursive: true, mode: 0o755 });
  chmodSync(home, mode);
  return { home, inner };
}

const stranger = { uid: 54_321, gids: [54_321] };

describe('reachable', () => {
  it('a 0700 home blocks everyone but its owner', () => {
    const { home, inner } = tree(0o700);
    expect(reachable(inner, stranger)).toBe(false);
    expect(reachable(inner, { uid: statSync(home).uid, gids: [] })).toBe(true);
  });

  it('traverse for others (0711) is enough; read is not needed', () => {
    expect(reachable(tree(0o711).inner, stranger)).toBe(true);
  });

  it('group traverse counts for members of the group only', () => {
    const { home, inner } = tree(0o710);
    const gid = statSync(home).gid;
    expect(reachable(inner, { uid: 54_321, gids: [gid] })).toBe(true);
    expect(reachable(inner, stranger)).toBe(false);
  });

  it('a path that does not exist yet is reachable up to where it would be created', () => {
    expect(reachable(join(tree(0o755).inner, 'pg', 'not-yet'), stranger)).toBe(true);
    expect(reachable(join(tree(0o700).inner, 'pg', 'not-yet'), stranger)).toBe(false);
  });
});
