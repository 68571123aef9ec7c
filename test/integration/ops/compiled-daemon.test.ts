import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, runCli, startDaemon, type TestDatabase } from '../../harness/index.js';

/**
 * The compiled daemon, as `npm install` (prepare → tsc -p tsconfig.build.json) and `npm start`
 * produce and run it: plain node on dist/, config/ and migrations/ found from there, worker
 * threads without a TypeScript loader, stack traces naming src/ lines. Built into a temporary
 * package root (config/, migrations/ and node_modules linked), so the checkout's dist/ is not
 * touched.
 */
const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const run = promisify(execFile);
let root: string;
let db: TestDatabase;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'gridmint-compiled-'));
  for (const d of ['config', 'migrations', 'node_modules']) symlinkSync(join(REPO, d), join(root, d));
  copyFileSync(join(REPO, 'package.json'), join(root, 'package.json'));
  await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(root, 'dist')], { cwd: REPO });
  db = await createTestDatabase({ migrate: false });
}, 180_000);

afterAll(async () => {
  await db?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('compiled daemon (dist/)', () => {
  it('builds src only, with source maps, and no .ts at run time', () => {
    expect(existsSync(join(root, 'dist/cli/index.js'))).toBe(true);
    expect(existsSync(join(root, 'dist/cli/index.js.map'))).toBe(true);
    expect(existsSync(join(root, 'dist/ingest/verify-thread.js'))).toBe(true);
    expect(existsSync(join(root, 'dist/test'))).toBe(false);
  });

  it('stack traces from dist/ name the src/*.ts line', async () => {
    const program = `await import(${JSON.stringify(join(root, 'dist/stack-traces.js'))});
      const { kwhToBaseUnits } = await import(${JSON.stringify(join(root, 'dist/domain/kwh.js'))});
      try { kwhToBaseUnits('x'); } catch (e) { console.log(e.stack); }`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', program], { cwd: root });
    expect(stdout).toMatch(/^AmountError: .*\n\s+at kwhToBaseUnits \(\S+\/src\/domain\/kwh\.ts:\d+:\d+\)/);
  });

  it('migrates and runs as one plain node process: ready, verify workers up, clean stop', async () => {
    const env = { DATABASE_URL: db.url, DATA_DIR: join(root, 'data'), MQTT_HOST: '127.0.0.1', INGEST_VERIFY_WORKERS: '1', MINT_ENABLED: 'false', LOG_LEVEL: 'info' };
    const migrated = await runCli(['migrate'], env, { entry: 'dist', root });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/001_/);

    // ready = /health/ready answers 200 (the database and the broker checked)
    const d = await startDaemon(env, { entry: 'dist', root, timeoutMs: 60_000 });
    expect(await d.kill('SIGTERM')).toBe(0);
    const out = d.output();
    expect(out).not.toMatch(/verify worker (failed|exited)/);
    expect(out).not.toMatch(/Cannot find module|ERR_UNKNOWN_FILE_EXTENSION/);
  }, 120_000);
});
