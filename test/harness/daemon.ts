import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { program, REPO, type CliOptions } from './cli.js';
import { freeServerPort } from './wait.js';

export interface DaemonUrls {
  http: string;
  /** the embedded broker, or MQTT_URL (without credentials) that the daemon subscribes to */
  mqtt: string | null;
  /** the embedded ledger; null with SOLANA_RPC_URL */
  ledger: string | null;
  /** DATABASE_URL without its password ('' with the embedded PostgreSQL) */
  database: string;
}

export interface Daemon {
  child: ChildProcess;
  urls: DaemonUrls;
  /** everything the daemon wrote (JSON log lines on stdout, the ready line on stderr), for failure messages */
  output(): string;
  /** resolves with the signal that ended it (null for a normal exit) */
  exited(): Promise<NodeJS.Signals | null>;
  kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<number | null>;
}

export interface DaemonOptions extends Pick<CliOptions, 'entry' | 'root'> {
  /** how long `startDaemon` waits for /health/ready (default 60 s) */
  timeoutMs?: number;
  /** node flags before the program, e.g. ['--cpu-prof'] */
  nodeArgs?: string[];
}

/** The node flags in package.json's `start` script (`exec node <flags> dist/cli/index.js start`). */
export function startNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  return words.slice(words.indexOf('node') + 1, words.indexOf('dist/cli/index.js')).filter((w) => w.startsWith('--'));
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

/** `port` as given, or a free one when the test left it to us ('0' or unset). */
async function chosen(port: string | undefined): Promise<string> {
  return port && port !== '0' ? port : String(await freeServerPort());
}

/**
 * Runs `gridmint start` as a real child process with `env` on top of the current environment and
 * returns at once, without waiting for it to be ready: for daemons meant to crash. HTTP_PORT,
 * MQTT_PORT (without MQTT_URL) and LEDGER_PORT (without SOLANA_RPC_URL) that are unset or '0' are
 * replaced by free ports, so the test knows every address without reading the daemon's logs.
 */
export async function spawnDaemon(env: Record<string, string>, opts: DaemonOptions = {}): Promise<Daemon> {
  // info by default: `output()` then holds the log lines a failure message (or logCount) needs
  const e: Record<string, string> = { LOG_LEVEL: 'info', ...env, HTTP_PORT: await chosen(env.HTTP_PORT) };
  if (!e.MQTT_URL) e.MQTT_PORT = await chosen(e.MQTT_PORT);
  if (!e.SOLANA_RPC_URL) e.LEDGER_PORT = await chosen(e.LEDGER_PORT);
  const host = (h: string | undefined, dflt: string) => (!h || h === '0.0.0.0' ? dflt : h);
  const urls: DaemonUrls = {
    // the defaults of config/default.json: HTTP on 127.0.0.1, the broker on 0.0.0.0 (reached via 127.0.0.1)
    http: `http://${host(e.HTTP_HOST, '127.0.0.1')}:${e.HTTP_PORT}`,
    mqtt: e.MQTT_URL ? e.MQTT_URL.replace(/\/\/[^@/]*@/, '//') : `mqtt://${host(e.MQTT_HOST, '127.0.0.1')}:${e.MQTT_PORT}`,
    ledger: e.SOLANA_RPC_URL ? null : `http://127.0.0.1:${e.LEDGER_PORT}`,
    database: (e.DATABASE_URL ?? '').replace(/:[^:@/]*@/, ':***@'),
  };
  // `node --import tsx` rather than the tsx binary: the tsx binary runs the program in a second
  // process, so a SIGKILL sent to it would orphan the real daemon instead of killing it.
  // The compiled daemon gets the node flags `npm start` gives it (the V8 heap limits), so tests and
  // benches measure the daemon as it is run; nodeArgs come after them, so a caller can override one.
  const flags = opts.entry === 'dist' ? [...startNodeFlags(), ...(opts.nodeArgs ?? [])] : (opts.nodeArgs ?? []);
  const child = spawn(process.execPath, [...flags, ...program(opts), 'start'], {
    cwd: opts.root ?? REPO,
    env: { ...process.env, ...e },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const gone = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => {
      running.delete(child);
      resolve(signal);
    }),
  );
  return {
    child,
    urls,
    output: () => out,
    exited: () => gone,
    kill: async (signal) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      await gone;
      return child.exitCode;
    },
  };
}

/**
 * `spawnDaemon`, then waits until GET /health/ready answers 200: the HTTP server listens last,
 * after the database, broker, ledger and jobs, and the check asks the database and the broker.
 * A daemon that exits first, or is not ready within the timeout, fails the start with its output
 * (and a late one is killed: a failed test must not leave a daemon behind).
 */
export async function startDaemon(env: Record<string, string>, opts: DaemonOptions = {}): Promise<Daemon> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const d = await spawnDaemon(env, opts);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (d.child.exitCode !== null || d.child.signalCode !== null) {
      throw new Error(`daemon exited with ${d.child.exitCode ?? d.child.signalCode} before it was ready:\n${d.output().slice(-4000)}`);
    }
    const status = await fetch(`${d.urls.http}/health/ready`).then(async (r) => (await r.arrayBuffer(), r.status), () => 0);
    if (status === 200) break;
    if (Date.now() > deadline) {
      await d.kill('SIGKILL');
      throw new Error(`daemon not ready in ${timeoutMs} ms (last /health/ready: ${status || 'no answer'}):\n${d.output().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return d;
}
