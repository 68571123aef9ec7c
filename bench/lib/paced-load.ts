// An open-loop HTTP load generator for the API bench's fixed-rate scenarios: request i is due at
// start + i / rate, whatever happened to earlier ones, and its latency is counted from when it was
// due (not from when a connection became free), so a slow server cannot hide its queue.
//
// Why not autocannon's `overallRate`: it gives each connection a quota of rate / connections
// requests per second, which the connection spends back to back as soon as its one-second
// interval resets. At 1,000 req/s over 50 connections that is all 1,000 requests at the start of
// every second, 50 in flight at once, then silence: a burst benchmark, not a rate. Its latencies
// are those of a server under 50-way concurrency for a fraction of each second.
import http from 'node:http';

export interface PacedOptions {
  /** absolute URL of the server (scheme, host and port); paths come from `path` */
  base: string;
  headers: Record<string, string>;
  /** the path of request i (e.g. a fixed path, or a random wallet's) */
  path: (i: number) => string;
  rate: number;
  durationSeconds: number;
  connections: number;
}

export interface PacedResult {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** completed requests per second over the run */
  rps: number;
  p50: number;
  p99: number;
  max: number;
  /** how late the generator itself sent requests (p99, ms): large = the figures are the generator's */
  sendLagP99: number;
}

const percentile = (sorted: Float64Array, p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : 0);
const round = (ms: number) => Math.round(ms * 10) / 10;

export async function pacedLoad(o: PacedOptions): Promise<PacedResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections, maxFreeSockets: o.connections });
  const total = Math.round(o.rate * o.durationSeconds);
  const latency = new Float64Array(total);
  const sendLag = new Float64Array(total);
  let done = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let next = 0;
  const start = performance.now();
  const fire = (i: number, due: number) => {
    sendLag[i] = performance.now() - due;
    const req = http.request(`${o.base}${o.path(i)}`, { agent, headers: o.headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => {
        latency[i] = performance.now() - due;
        if (res.statusCode! >= 200 && res.statusCode! < 300) ok++;
        else non2xx++;
        done++;
      });
    });
    req.on('error', () => {
      latency[i] = performance.now() - due;
      errors++;
      done++;
    });
    req.end();
  };
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + (next * 1000) / o.rate <= now) {
        fire(next, start + (next * 1000) / o.rate);
        next++;
      }
      if (next < total) setTimeout(tick, 1);
      else {
        const wait = () => (done >= total ? resolve() : setTimeout(wait, 5));
        wait();
      }
    };
    tick();
  });
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  latency.sort();
  sendLag.sort();
  return {
    requests: total, ok, non2xx, errors, rps: Math.round(total / seconds),
    p50: round(percentile(latency, 0.5)), p99: round(percentile(latency, 0.99)), max: round(latency[total - 1] ?? 0), sendLagP99: round(percentile(sendLag, 0.99)),
  };
}
