import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../harness/index.js';

const dataDir = mkdtempSync(join(tmpdir(), 'gridmint-keygen-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('gridmint keygen (no database needed)', () => {
  it('prints only the public key on stdout, so a shell can capture it; the path goes to stderr', async () => {
    const r = await runCli(['keygen', '--name', 'owner-1'], { DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}\n$/);
    const path = join(dataDir, 'keys', 'meters', 'owner-1.json');
    expect(r.stderr).toBe(`keypair written to ${path} (mode 0600)\n`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  }, 90_000);
});
