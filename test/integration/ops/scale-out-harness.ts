import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import type { SignedReading } from '../../../src/domain/reading.js';
import { publish } from '../ingest/fixtures.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `gridmint <args>` as an operator runs it: a real child process with the given environment. */
export function runCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], { cwd: REPO, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Sum of every sample of a counter/gauge in a gateway's /metrics whose labels contain `labels`. */
export async function scrape(httpUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      if (labels && !line.includes(labels)) continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

/** How many of a daemon's JSON log lines carry this exact message. */
export function logCount(output: string, msg: string): number {
  let n = 0;
  for (const line of output.split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      if ((JSON.parse(line) as { msg?: string }).msg === msg) n++;
    } catch {
      /* not a JSON line */
    }
  }
  return n;
}

export interface Stream {
  /** every reading handed to a meter's client, in order (whether or not acknowledged yet) */
  sent: SignedReading[];
  /** readings Mosquitto acknowledged (PUBACK) to the meter */
  acked: SignedReading[];
  /** resolves when every publish has been acknowledged by Mosquitto */
  done: Promise<void>;
}

/**
 * Publishes every meter's readings at QoS 1, interleaved across meters and paced at `perSecond`
 * overall, so the stream is still running when the test kills a gateway. Readings are signed in
 * advance: signing must not be what paces the stream.
 */
export function publishStream(meters: { client: MqttClient; topic: string; readings: SignedReading[] }[], perSecond: number): Stream {
  const order: { client: MqttClient; topic: string; r: SignedReading }[] = [];
  const longest = Math.max(...meters.map((m) => m.readings.length));
  for (let i = 0; i < longest; i++) for (const m of meters) if (m.readings[i]) order.push({ client: m.client, topic: m.topic, r: m.readings[i]! });
  const s: Stream = { sent: [], acked: [], done: Promise.resolve() };
  s.done = (async () => {
    const t0 = Date.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < order.length; i++) {
      const due = t0 + (i * 1000) / perSecond;
      if (due > Date.now() + 2) await new Promise((r) => setTimeout(r, due - Date.now()));
      const { client, topic, r } = order[i]!;
      s.sent.push(r);
      pending.push(publish(client, topic, JSON.stringify(r)).then(() => void s.acked.push(r)));
    }
    await Promise.all(pending);
  })();
  return s;
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
