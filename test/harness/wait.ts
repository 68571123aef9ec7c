import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A port that was free on 127.0.0.1 a moment ago, for servers a test spawns itself. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * A free port below the kernel's ephemeral range (32768+ on Linux), for a server another process
 * will bind a few seconds later: the ephemeral ports are handed to every outgoing connection in
 * the meantime (the tests open many to PostgreSQL), so one of those could take a `freePort()`
 * before the child binds it; ports below that range are taken only by servers that ask for them.
 */
export async function freeServerPort(): Promise<number> {
  for (let tries = 0; ; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer().once('error', () => resolve(false));
      // 0.0.0.0: a daemon's broker binds every interface by default
      s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
    if (tries > 50) throw new Error('no free port found in 20000–31999');
  }
}

/**
 * Polls `cond` every 20 ms until it holds; throws "timed out waiting for `what`" after `timeoutMs`.
 * A condition that throws counts as not yet true (a server still starting refuses connections);
 * its last error is quoted in the timeout message.
 */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls `value` until it reaches `target` or stops changing for `stallMs`; returns the last value. */
export async function settleAt(value: () => Promise<number>, target: number, stallMs: number, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  let last = await value();
  let since = Date.now();
  while (last < target && Date.now() < end && Date.now() - since < stallMs) {
    await new Promise((r) => setTimeout(r, 100));
    const v = await value();
    if (v !== last) {
      last = v;
      since = Date.now();
    }
  }
  return last;
}

export interface TempDirs {
  /** a fresh directory under the OS temp dir, removed by `remove()` */
  make(prefix: string): string;
  remove(): void;
}

/** Temp directories for one test file, all removed together in its afterAll. */
export function tempDirs(): TempDirs {
  const made: string[] = [];
  return {
    make(prefix) {
      const d = mkdtempSync(join(tmpdir(), `gridmint-${prefix}-`));
      made.push(d);
      return d;
    },
    remove() {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}
