import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyJob } from '../../../src/ingest/evaluate-batch.js';
import { MeterCache } from '../../../src/ingest/meter-cache.js';
import { IngestPipeline } from '../../../src/ingest/pipeline.js';
import { outcomeCode, type Outcome } from '../../../src/domain/outcome.js';
import type { IngestMessage } from '../../../src/ingest/types.js';
import { Verifier } from '../../../src/ingest/verifier.js';
import { createLogger } from '../../../src/logger.js';
import { createMetrics } from '../../../src/metrics/registry.js';
import { count, createTestDatabase, reading, registerMeter, type TestDatabase, type TestMeter } from '../../harness/index.js';

// The verification stage on its own, with a real database: a message that makes the verifier
// throw (a bug, or a transport handing over something that is not bytes) must be isolated and
// quarantined, and everything around it verified and stored as usual.

/** A verifier with a bug: it throws on any chunk containing the bytes BOOM. */
class BuggyVerifier extends Verifier {
  calls = 0;
  override evaluate(job: VerifyJob) {
    this.calls++;
    if (job.items.some((i) => Buffer.from(i.payload).includes('BOOM'))) return Promise.reject(new TypeError('verifier bug'));
    return super.evaluate(job);
  }
}

let db: TestDatabase;
let meter: TestMeter;
let verifier: BuggyVerifier;
let pipeline: IngestPipeline;

beforeAll(async () => {
  db = await createTestDatabase();
  meter = await registerMeter(db.pool);
  const log = createLogger('silent');
  verifier = new BuggyVerifier(0, log);
  pipeline = new IngestPipeline(db.pool, new MeterCache(db.pool), verifier, createMetrics(), log, {
    batchMax: 500,
    batchWaitMs: 20,
    maxPending: 1_000,
    limits: { maxAgeMs: 86_400_000, maxFutureMs: 300_000 },
  });
});
afterAll(async () => {
  await pipeline?.stop();
  await db?.drop();
});

function submit(payload: Buffer): Promise<Outcome | Error> {
  return new Promise((resolve) => {
    const msg: IngestMessage = { source: 'mqtt', topic: `meters/${meter.id}/readings`, payload, receivedAt: Date.now(), route: { ok: true, channel: 'readings', meterId: meter.id }, done: resolve };
    expect(pipeline.submit(msg)).toBe(true);
    expect(msg.done).toBe(resolve); // the pipeline wraps the transport's callback, it never replaces it
  });
}

describe('pipeline: poison in the verification stage', () => {
  it('isolates a message the verifier throws on; the others in its chunk are stored', async () => {
    const good = Array.from({ length: 12 }, () => reading(meter));
    const results = await Promise.all([
      ...good.slice(0, 6).map((r) => submit(Buffer.from(JSON.stringify(r)))),
      submit(Buffer.from('{"BOOM":1}')),
      ...good.slice(6).map((r) => submit(Buffer.from(JSON.stringify(r)))),
    ]);
    expect(results.map((r) => (r instanceof Error ? r.message : outcomeCode(r)))).toEqual([...Array(6).fill('accepted'), 'unprocessable', ...Array(6).fill('accepted')]);
    expect((results[6] as Outcome).detail).toBeNull(); // the internal error is not echoed to the sender…
    expect(await count(db.pool, 'SELECT 1 FROM meter_readings WHERE meter_id = $1', [meter.id])).toBe(12);
    const q = await db.pool.query("SELECT reason, detail FROM rejected_readings WHERE raw = '\\x7b22424f4f4d223a317d'::bytea");
    expect(q.rows).toEqual([{ reason: 'unprocessable', detail: 'could not be evaluated: verifier bug' }]); // …it is kept here
    expect(verifier.calls).toBeLessThan(5 + 2 * 5 + 12); // bounded: retries on the chunk, then one per split
  });

  it('takes a payload that is not a Buffer as its bytes instead of failing on it', async () => {
    const r = await submit('{"meter_id":' as unknown as Buffer);
    expect(r instanceof Error ? r.message : outcomeCode(r)).toBe('invalid_payload');
    const after = await submit(Buffer.from(JSON.stringify(reading(meter))));
    expect(after instanceof Error ? after.message : outcomeCode(after)).toBe('accepted');
  });
});
