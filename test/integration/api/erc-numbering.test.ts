import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actor, type Actor, addMeter, addReadings, startTestApi, type TestApi, wallet } from '../../harness/index.js';

/**
 * Issue 12 A2: certificate ids stay gapless (ERC-YYYY-NNNNNN in commit order) under concurrent
 * issuance and when issuances fail, both before a number is taken (no readings) and after (the
 * certificate insert itself fails: a trigger in this test database stands in for a disk or
 * constraint error at that point, so the transaction that took the number rolls back).
 */
let h: TestApi;
let authority: Actor;
beforeAll(async () => {
  h = await startTestApi();
  authority = actor('rec_authority', 'Numbering Registry');
  await h.db.pool.query(`
    CREATE FUNCTION fail_marked_meters() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.meter_id LIKE 'fail-%' THEN RAISE EXCEPTION 'injected failure after the number was taken'; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER fail_marked_meters BEFORE INSERT ON erc_certificates FOR EACH ROW EXECUTE FUNCTION fail_marked_meters();`);
});
afterAll(async () => h?.close());

const issue = (meterId: string) =>
  h.app.inject({ method: 'POST', url: '/api/erc/issue', headers: authority.headers, payload: { meter_id: meterId, period_start: '2025-05-01T00:00:00Z', period_end: '2025-05-02T00:00:00Z' } });

async function meterWithReading(prefix: string): Promise<string> {
  const owner = wallet();
  const id = await addMeter(h.db, owner, `${prefix}-${Math.random().toString(36).slice(2, 10)}`);
  await addReadings(h.db, id, owner, [['2025-05-01T12:00:00Z', '1.25']]);
  return id;
}

describe('certificate numbering', () => {
  it('is gapless under concurrent issuance mixed with failures before and after numbering', { timeout: 60_000 }, async () => {
    const good = await Promise.all(Array.from({ length: 16 }, () => meterWithReading('ok')));
    const failingLate = await Promise.all(Array.from({ length: 5 }, () => meterWithReading('fail')));
    const empty = await Promise.all(Array.from({ length: 5 }, () => addMeter(h.db, wallet())));
    // Interleaved so failures land between successful issuances.
    const order = good.flatMap((m, i) => [m, ...(i < 5 ? [failingLate[i]!, empty[i]!] : [])]);
    const answers = await Promise.all(order.map((m) => issue(m).then((r) => ({ m, status: r.statusCode, body: r.json() }))));

    const ok = answers.filter((a) => a.status === 201);
    expect(ok.map((a) => a.m).sort()).toEqual([...good].sort());
    expect(answers.filter((a) => failingLate.includes(a.m)).map((a) => a.status)).toEqual([500, 500, 500, 500, 500]);
    expect(answers.filter((a) => empty.includes(a.m)).map((a) => [a.status, a.body.error.code])).toEqual(Array(5).fill([409, 'no_readings']));

    const year = new Date().getUTCFullYear();
    const want = Array.from({ length: 16 }, (_, i) => `ERC-${year}-${String(i + 1).padStart(6, '0')}`);
    expect(ok.map((a) => a.body.certificate_id).sort()).toEqual(want);
    const stored = await h.db.pool.query<{ certificate_id: string }>('SELECT certificate_id FROM erc_certificates ORDER BY certificate_id');
    expect(stored.rows.map((r) => r.certificate_id)).toEqual(want);

    // The failed late issuances took no number for good: the next certificate continues the run.
    await h.db.pool.query('DROP TRIGGER fail_marked_meters ON erc_certificates');
    const next = await issue(failingLate[0]!);
    expect(next.statusCode).toBe(201);
    expect(next.json().certificate_id).toBe(`ERC-${year}-000017`);
  });
});
