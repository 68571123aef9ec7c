import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** The node flags in package.json's `start` script (`exec node <flags> dist/cli/index.js start`). */
export function startNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  return words.slice(words.indexOf('node') + 1, words.indexOf('dist/cli/index.js')).filter((w) => w.startsWith('--'));
}

export interface Daemon {
  child: ChildProcess;
  urls: { http: string; mqtt: string | null; ledger: string | null; database: string };
  /** everything the daemon wrote (JSON log lines), for failure messages */
  output(): string;
  kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<number | null>;
}

/**
 * Daemons this test process started and that still run. A test that times out or throws before
 * its cleanup would otherwise leave them running after the worker exits, holding ports, memory
 * and CPU that later tests and benches need.
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/**
 * Runs `gridmint start` as a real child process (node --import tsx src/cli/index.ts start, or the
 * compiled `node dist/cli/index.js start` with entry 'dist', as `npm start` runs it) with the given
 * environment on top of the current one, and resolves once it logged "gridmint gateway started"
 * (its addresses are read from that line, so ports may be 0). LOG_LEVEL defaults to info because
 * that line is how readiness is detected.
 */
export async function startDaemon(env: Record<string, string>, timeoutMs = 60_000, nodeArgs: string[] = [], entry: 'src' | 'dist' = 'src'): Promise<Daemon> {
  // `node --import tsx` rather than the tsx binary: the tsx binary runs the program in a second
  // process, so a SIGKILL sent to it would orphan the real daemon instead of killing it.
  // The compiled daemon gets the node flags `npm start` gives it (the V8 heap limits), so tests and
  // benches measure the daemon as it is run; nodeArgs come after them, so a caller can override one.
  const program = entry === 'dist' ? ['dist/cli/index.js'] : ['--import', 'tsx', 'src/cli/index.ts'];
  const flags = entry === 'dist' ? [...startNodeFlags(), ...nodeArgs] : nodeArgs;
  const child = spawn(process.execPath, [...flags, ...program, 'start'], {
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  const urls = await new Promise<Daemon['urls']>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave a half-started daemon behind a failed test
      reject(new Error(`daemon did not start in ${timeoutMs} ms:\n${out.slice(-4000)}`));
    }, timeoutMs);
    let buf = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      buf += b.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; urls?: Daemon['urls'] };
          if (entry.msg === 'gridmint gateway started' && entry.urls) {
            clearTimeout(timer);
            resolve(entry.urls);
          }
        } catch {
          /* not a log line */
        }
      }
    });
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before starting:\n${out.slice(-4000)}`));
    });
  });
  return {
    child,
    urls,
    output: () => out,
    kill: async (signal) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill(signal);
      return exited;
    },
  };
}
