import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../../../src/domain/outcome.js';
import { MeterCache } from '../../../src/ingest/meter-cache.js';
import { IngestPipeline } from '../../../src/ingest/pipeline.js';
import { Verifier } from '../../../src/ingest/verifier.js';
import { createLogger } from '../../../src/logger.js';
import { createMetrics, type Metrics } from '../../../src/metrics/registry.js';
import { createTestDatabase, reading, registerMeter, type TestDatabase, type TestMeter } from '../../harness/index.js';

// gridmint_ingest_stage_seconds is how an operator finds where a slow ingest spends its time: every
// committed message must be one sample in each stage, and a stage's samples must show its waits.

let db: TestDatabase;
let meter: TestMeter;
let metrics: Metrics;
let pipeline: IngestPipeline;
const BATCH_WAIT_MS = 30;

beforeAll(async () => {
  db = await createTestDatabase();
  meter = await registerMeter(db.pool);
  metrics = createMetrics();
  const log = createLogger('silent');
  pipeline = new IngestPipeline(db.pool, new MeterCache(db.pool), new Verifier(1, log), metrics, log, {
    batchMax: 500, batchWaitMs: BATCH_WAIT_MS, maxPending: 1_000, limits: { maxAgeMs: 86_400_000, maxFutureMs: 300_000 },
  });
});
afterAll(async () => {
  await pipeline?.stop();
  await db?.drop();
});

async function stage(name: string): Promise<{ count: number; atLeast: (seconds: number) => number }> {
  const values = (await metrics.ingestStageSeconds.get()).values.filter((v) => v.labels.stage === name);
  const count = values.find((v) => v.metricName === 'gridmint_ingest_stage_seconds_count')!.value;
  const buckets = values.filter((v) => v.metricName === 'gridmint_ingest_stage_seconds_bucket');
  const le = (b: { labels: object }) => (b.labels as { le: string }).le;
  const below = (s: number) => buckets.filter((b) => le(b) !== '+Inf' && Number(le(b)) < s).reduce((max, b) => Math.max(max, b.value), 0);
  return { count, atLeast: (s) => count - below(s) };
}

describe('ingest stage timings', () => {
  it('counts every committed message once per stage; the queued stage shows the batch wait', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 25 }, () => reading(meter)).map(
        (r) =>
          new Promise<Outcome | Error>((done) => {
            const msg = { source: 'mqtt' as const, topic: `meters/${meter.id}/readings`, payload: Buffer.from(JSON.stringify(r)), receivedAt: Date.now(), route: { ok: true as const, channel: 'readings' as const, meterId: meter.id }, done };
            expect(pipeline.submit(msg)).toBe(true);
          }),
      ),
    );
    expect(outcomes.every((o) => !(o instanceof Error) && o.ok)).toBe(true);
    for (const name of ['queued', 'verify', 'write_wait', 'write']) expect((await stage(name)).count).toBe(25);
    // submitted together into an idle pipeline: all of them waited for the chunk's batch wait
    expect((await stage('queued')).atLeast(0.025)).toBe(25);
    expect((await stage('verify')).atLeast(10)).toBe(0);
  });
});
