// The contract between bench/ingest.ts and its publisher processes (publisher.ts, raw-publisher.ts):
// input from a JSON file named in argv[2], a ready line, "go" on stdin, one JSON result line.
// Kept in one place so both publishers measure and report exactly the same way.
import { readFileSync } from 'node:fs';

export interface PublisherInput {
  url: string;
  meters: { id: string; secretKey: number[]; owner: string; password: string; ocmfKeyPem?: string }[];
  /** what each meter sends: interval readings (default), register reads, or OCMF records (raw publisher only) */
  kind?: 'interval' | 'register' | 'ocmf';
  count: number;
  /** readings per second; 0 = as fast as the PUBACK window allows */
  rate: number;
  window: number;
  latencyUntil: 'puback' | 'status';
  tsBase: number;
}

export interface PublisherResult {
  sent: number;
  acked: number;
  statuses: number;
  seconds: number;
  p50: number | null;
  p99: number | null;
  samples: number;
  /** raw publisher: connections the gateway closed (load shedding) and messages resent after them */
  reconnects?: number;
  resent?: number;
}

export function readPublisherInput(): PublisherInput {
  return JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as PublisherInput;
}

/** Everything is signed and connected: say so, then wait for the bench to start the clock. */
export async function readyThenWaitForGo(): Promise<void> {
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  await new Promise((r) => process.stdin.once('data', r));
}

/** When latency ends at the status message, give the last ones up to 5 s after the last PUBACK. */
export async function awaitStatuses(input: PublisherInput, received: () => number, expected: number): Promise<void> {
  const settle = performance.now() + 5_000;
  while (input.latencyUntil === 'status' && received() < expected && performance.now() < settle) await new Promise((r) => setTimeout(r, 20));
}

/** Prints the result line bench/ingest.ts reads; sorts `latencies` in place. */
export function writeResult(counts: Pick<PublisherResult, 'sent' | 'acked' | 'statuses' | 'seconds' | 'reconnects' | 'resent'>, latencies: number[]): void {
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? null;
  const result: PublisherResult = { ...counts, p50: pct(50), p99: pct(99), samples: latencies.length };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
