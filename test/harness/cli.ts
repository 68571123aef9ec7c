import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from './db.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface CliRun {
  /** exit code; null when the process was killed (e.g. by the timeout) */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** kill it after this long (the run then resolves with code null) */
  timeoutMs?: number;
  /** `src` (node --import tsx src/cli/index.ts, the default) or the compiled `dist/cli/index.js` */
  entry?: 'src' | 'dist';
  /** the package root it runs from (default: this checkout), e.g. a separately built copy */
  root?: string;
}

/** node's arguments for the gridmint program: the TypeScript source through tsx, or the build. */
export function program(opts: CliOptions): string[] {
  return opts.entry === 'dist' ? [join(opts.root ?? REPO, 'dist/cli/index.js')] : ['--import', 'tsx', join(opts.root ?? REPO, 'src/cli/index.ts')];
}

/**
 * `gridmint <args>` as an operator runs it: a real child process, the current environment with
 * `env` on top. Resolves whatever the exit code (tests assert on it); never throws for a refusal.
 * `node --import tsx` rather than npx: npx's own start-up costs seconds on a loaded machine.
 */
export function runCli(args: string[], env: Record<string, string> = {}, opts: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...program(opts), ...args], { cwd: opts.root ?? REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // 'close', not 'exit': all of stdout and stderr has been read by then.
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A runner bound to one environment, for files that run many commands against one database. */
export function cliWith(env: Record<string, string> | (() => Record<string, string>), opts: CliOptions = {}): (...args: string[]) => Promise<CliRun> {
  return (...args) => runCli(args, typeof env === 'function' ? env() : env, opts);
}

/** Parses a `--json` run's stdout; a run that printed no JSON fails with everything it printed. */
export function json<T>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`gridmint printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

export interface CliWorkspace {
  db: TestDatabase;
  /** an empty DATA_DIR of its own (keys, secrets) */
  dataDir: string;
  /** DATABASE_URL and DATA_DIR for `runCli`/`cliWith`/`startDaemon` */
  env: { DATABASE_URL: string; DATA_DIR: string };
  drop(): Promise<void>;
}

/** What an operator's commands run against: a fresh test database and an empty data directory. */
export async function createCliWorkspace(name: string): Promise<CliWorkspace> {
  const db = await createTestDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), `gridmint-${name}-`));
  return {
    db,
    dataDir,
    env: { DATABASE_URL: db.url, DATA_DIR: dataDir },
    async drop() {
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
