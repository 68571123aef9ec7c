/** Measurements for bench/api.ts beside latency: server CPU per request and query plans. */
import { readFileSync } from 'node:fs';
import pg from 'pg';

/** CPU time (user + system, ms) of a process so far, from /proc (Linux); 0 once it is gone. */
function cpuMsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return 0;
  }
}

/**
 * The CPU the server side spends: the gateway process and the PostgreSQL backends serving its
 * database. Unlike latency on a shared machine, CPU per request barely depends on what else runs.
 */
export interface CpuMeter {
  snapshot(): Promise<Map<number, number>>;
}

/** Snapshots the CPU of the gateway (key -1) and of each PostgreSQL backend of `database` (key: pid). */
export function createCpuMeter(admin: pg.Client, database: string, gatewayPid: number): CpuMeter {
  return {
    async snapshot() {
      const pids = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
      return new Map([[-1, cpuMsOf(gatewayPid)], ...pids.rows.map((x) => [x.pid, cpuMsOf(x.pid)] as [number, number])]);
    },
  };
}

/**
 * BENCH_API_EXPLAIN=1: EXPLAIN ANALYZE of the benchmarked reads, run through the store functions
 * themselves (their query text is prefixed), on the seeded database.
 */
export async function explain(url: string, me: string, owner: string): Promise<void> {
  const { listCertificatesJsonByOwner, getCertificateDetailJson } = await import('../../src/store/certificates.js');
  const { listReadingsJsonOfOwner } = await import('../../src/store/meters.js');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const plan = (r: pg.QueryResult) => r.rows.map((x: Record<string, string>) => x['QUERY PLAN']).join('\n');
  // The hot reads are named statements, so after five runs PostgreSQL may switch to the generic
  // plan (parameters unknown): both plans are shown.
  const explaining = {
    query: async (q: string | { text: string; values: unknown[] }, params?: unknown[]) => {
      const text = typeof q === 'string' ? q : q.text;
      const values = typeof q === 'string' ? params ?? [] : q.values;
      console.log(`custom plan:\n${plan(await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, values))}`);
      await client.query(`PREPARE bench_explain AS ${text}`);
      await client.query('SET plan_cache_mode = force_generic_plan');
      const args = values.map((v) => `'${String(v).replace(/'/g, "''")}'`).join(', ');
      console.log(`generic plan:\n${plan(await client.query(`EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_explain(${args})`))}`);
      await client.query('RESET plan_cache_mode; DEALLOCATE bench_explain');
      return { rows: [{ items: '[]', transfers: [] }] };
    },
  } as unknown as pg.Pool;
  for (const [what, run] of [
    ['my-certificates', () => listCertificatesJsonByOwner(explaining, me, 50, 0)],
    ['my-readings', () => listReadingsJsonOfOwner(explaining, owner, 50, 0)],
    ['certificate detail', () => getCertificateDetailJson(explaining, 'ERC-2023-000001')],
  ] as const) {
    console.log(`\n-- ${what}`);
    await run();
  }
  await client.end();
}
