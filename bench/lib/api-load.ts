// One API bench scenario: its load (paced for a fixed rate, autocannon flat out) and its figures.
import autocannon from 'autocannon';
import type { CpuMeter } from './api-measure.js';
import { pacedLoad } from './paced-load.js';

export interface Scenario {
  base: string;
  headers: Record<string, string>;
  /** the path of request i */
  path: (i: number) => string;
  connections: number;
  duration: number;
  /** fixed rate (req/s), or null for flat out */
  rate: number | null;
  method?: 'GET' | 'POST';
  /** POST body of request i */
  body?: (i: number) => string;
}

export interface Figures {
  scenario: string;
  /** paced: open loop, evenly spaced; autocannon: its overallRate (bursts) or flat out */
  load: 'paced' | 'autocannon';
  connections: number;
  target_rps: number | null;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  ok: number;
  non_2xx: number;
  errors: number;
  /** paced only: p99 of how late the generator sent (large = the generator, not the server, was slow) */
  send_lag_p99_ms: number | null;
  /** server CPU per request (user + system), gateway process and its PostgreSQL backends */
  gateway_cpu_us_per_req: number;
  postgres_cpu_us_per_req: number;
}

// BENCH_API_LOAD=autocannon runs the fixed-rate scenarios with autocannon's overallRate as before
// (1,000 requests in a burst at the start of each second), to compare with earlier results.
const FIXED_RATE_LOAD = process.env.BENCH_API_LOAD === 'autocannon' ? 'autocannon' : 'paced';

type Load = Omit<Figures, 'scenario' | 'connections' | 'target_rps' | 'gateway_cpu_us_per_req' | 'postgres_cpu_us_per_req'>;

async function runAutocannon(s: Scenario): Promise<Load> {
  let n = 0;
  const r = await autocannon({
    url: `${s.base}${s.path(0)}`, method: s.method ?? 'GET', headers: s.headers, connections: s.connections, duration: s.duration,
    ...(s.rate ? { overallRate: s.rate } : {}),
    requests: [{ setupRequest: (req) => { const i = n++; return { ...req, path: s.path(i), ...(s.body ? { body: s.body(i) } : {}) }; } }],
  });
  return { load: 'autocannon', rps: Math.round(r.requests.average), p50_ms: r.latency.p50, p99_ms: r.latency.p99, ok: r['2xx'], non_2xx: r.non2xx, errors: r.errors + r.timeouts, send_lag_p99_ms: null };
}

async function runPaced(s: Scenario & { rate: number }): Promise<Load> {
  const r = await pacedLoad({ base: s.base, headers: s.headers, path: s.path, rate: s.rate, durationSeconds: s.duration, connections: s.connections });
  return { load: 'paced', rps: r.rps, p50_ms: r.p50, p99_ms: r.p99, ok: r.ok, non_2xx: r.non2xx, errors: r.errors, send_lag_p99_ms: r.sendLagP99 };
}

export async function measure(name: string, s: Scenario, cpu: CpuMeter | null): Promise<Figures> {
  const before = await cpu?.snapshot();
  const load = s.rate && !s.body && FIXED_RATE_LOAD === 'paced' ? await runPaced({ ...s, rate: s.rate }) : await runAutocannon(s);
  const after = await cpu?.snapshot();
  let gatewayMs = 0;
  let postgresMs = 0;
  for (const [pid, ms] of after ?? []) {
    const d = ms - (before?.get(pid) ?? 0);
    if (pid === -1) gatewayMs = d;
    else postgresMs += d;
  }
  const requests = load.ok + load.non_2xx;
  return {
    scenario: name, connections: s.connections, target_rps: s.rate, ...load,
    gateway_cpu_us_per_req: requests ? Math.round((1000 * gatewayMs) / requests) : 0,
    postgres_cpu_us_per_req: requests ? Math.round((1000 * postgresMs) / requests) : 0,
  };
}
