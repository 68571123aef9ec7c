import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { EmbeddedPostgresError, adviceFor, reasonFrom } from './embedded-errors.js';
import type { Placement } from './embedded-placement.js';

// Messages in English whatever the machine's locale: readiness is read from the server's stderr.
const ENV = { ...process.env, LC_MESSAGES: 'C', LANG: 'C' };

/**
 * Spawns one PostgreSQL program as the placement's user. A failure to spawn at all (EACCES,
 * ENOENT) arrives as the child's 'error' event; it is always listened for and becomes the
 * returned promise's rejection, never an unhandled event.
 */
function launch(p: Placement, program: 'initdb' | 'postgres', args: string[]): ChildProcess {
  const ids = p.user ? { uid: p.user.uid, gid: p.user.gid } : {};
  // cwd: somewhere the server user can reach (the checkout may sit in a 0700 home). The server
  // gets its own process group: a Ctrl-C in the terminal signals the whole foreground group, and
  // the server must outlive the gateway's ordered shutdown, which stops it last.
  return spawn(join(p.binDir, program), args, { ...ids, cwd: p.binDir, env: ENV, stdio: ['ignore', 'pipe', 'pipe'], detached: program === 'postgres' });
}

function spawnFailure(program: string, p: Placement, err: NodeJS.ErrnoException, port: number): EmbeddedPostgresError {
  const who = p.user ? ` as user "${p.user.name}"` : '';
  return new EmbeddedPostgresError(`cannot run ${join(p.binDir, program)}${who} (${err.code ?? err.message})`, adviceFor(err.code ?? err.message, port));
}

/** initdb for a new cluster: one superuser with a password, scram auth, UTF-8. */
export async function initCluster(p: Placement, user: string, password: string, port: number, log: Logger): Promise<void> {
  // The password file must be readable by the server user, and by nobody else.
  const dir = await mkdtemp(join(tmpdir(), 'gridmint-initdb-'));
  const pwfile = join(dir, 'pw');
  try {
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (p.user) {
      await chown(dir, p.user.uid, p.user.gid);
      await chown(pwfile, p.user.uid, p.user.gid);
    }
    const args = [`--pgdata=${p.clusterDir}`, '--auth=scram-sha-256', `--username=${user}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C', '--lc-messages=C'];
    await new Promise<void>((resolve, reject) => {
      const child = launch(p, 'initdb', args);
      let stderr = '';
      child.stdout!.on('data', (b: Buffer) => log.debug(b.toString().trim()));
      child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      child.once('error', (err) => reject(spawnFailure('initdb', p, err, port)));
      child.once('close', (code, signal) => {
        if (code === 0) return resolve();
        const reason = reasonFrom(stderr) ?? `initdb exited with ${code ?? signal}`;
        reject(new EmbeddedPostgresError(`initdb failed for ${p.clusterDir}: ${reason}`, adviceFor(stderr || reason, port)));
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface ServerProcess {
  stop(): Promise<void>;
}

/** Starts the server on 127.0.0.1:port; resolves once it accepts connections. */
export async function startServer(p: Placement, port: number, log: Logger, timeoutMs = 60_000): Promise<ServerProcess> {
  const child = launch(p, 'postgres', ['-D', p.clusterDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1']);
  let stderr = '';
  child.stdout!.resume(); // nothing expected there; never let the pipe fill
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      reject(new EmbeddedPostgresError(`the server did not become ready within ${timeoutMs / 1000} s`, adviceFor(reasonFrom(stderr) ?? '', port)));
    }, timeoutMs);
    child.stderr!.on('data', (b: Buffer) => {
      const text = b.toString();
      if (stderr.length < 64_000) stderr += text;
      log.debug(text.trim());
      if (text.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(spawnFailure('postgres', p, err, port));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const reason = reasonFrom(stderr) ?? `postgres exited with ${code ?? signal}`;
      reject(new EmbeddedPostgresError(reason, adviceFor(stderr || reason, port)));
    });
  });
  stderr = '';
  child.removeAllListeners('exit');
  child.on('exit', (code, signal) => log.warn({ code, signal }, 'embedded PostgreSQL exited'));
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.removeAllListeners('exit');
        // SIGINT = fast shutdown (active transactions rolled back, then a clean checkpoint).
        const hard = setTimeout(() => child.kill('SIGQUIT'), 30_000);
        child.once('exit', () => {
          clearTimeout(hard);
          resolve();
        });
        child.kill('SIGINT');
      }),
  };
}
