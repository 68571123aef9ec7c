// Where a reading's time goes inside the gateway, from its own /metrics: the change of
// gridmint_ingest_stage_seconds between two scrapes, as bucket bounds ("≤ 5 ms") of each stage's
// p50 and p99. Coarse (the histogram's buckets) but taken by the daemon itself, so the bench's
// publisher and its event loop are not in it.
import { STAGES } from '../../src/ingest/ingest-counters.js';

type Buckets = Map<string, Map<number, number>>; // stage → upper bound (s) → cumulative count

export async function scrapeStages(httpUrl: string): Promise<Buckets> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const out: Buckets = new Map();
  for (const m of text.matchAll(/^gridmint_ingest_stage_seconds_bucket\{le="([^"]+)",stage="([^"]+)"\} (\d+)$/gm)) {
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    if (!out.has(m[2]!)) out.set(m[2]!, new Map());
    out.get(m[2]!)!.set(le, Number(m[3]));
  }
  return out;
}

/** Each stage's p50 and p99 between two scrapes, as "≤ N ms" (the bucket the quantile falls in). */
export function stageQuantiles(before: Buckets, after: Buckets): Record<string, { p50: string; p99: string }> {
  const result: Record<string, { p50: string; p99: string }> = {};
  for (const stage of STAGES) {
    const a = after.get(stage);
    if (!a) continue;
    const bounds = [...a.keys()].sort((x, y) => x - y);
    const delta = bounds.map((le) => a.get(le)! - (before.get(stage)?.get(le) ?? 0));
    const total = delta[delta.length - 1] ?? 0;
    const at = (q: number) => {
      const i = delta.findIndex((c) => c >= q * total);
      const le = bounds[i]!;
      return le === Infinity ? `> ${bounds[bounds.length - 2]! * 1000} ms` : `≤ ${le * 1000} ms`;
    };
    if (total > 0) result[stage] = { p50: at(0.5), p99: at(0.99) };
  }
  return result;
}
