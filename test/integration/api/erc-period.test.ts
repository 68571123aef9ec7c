import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentHash } from '../../../src/domain/erc.js';
import { contentOf, getCertificate } from '../../../src/store/certificates.js';
import { actor, type Actor, addMeter, addReadings, startTestApi, type TestApi, wallet } from '../../harness/index.js';

// A reading stamped t measured the interval that ENDS at t, so a certificate for start..end
// covers the readings with start < t <= end (issue 8 §8).
let h: TestApi;
let authority: Actor;
beforeAll(async () => {
  h = await startTestApi();
  authority = actor('rec_authority', 'Period Registry');
});
afterAll(async () => h?.close());

const issue = (meter: string, start: string, end: string) =>
  h.app.inject({ method: 'POST', url: '/api/erc/issue', headers: authority.headers, payload: { meter_id: meter, period_start: start, period_end: end } });

async function certificateOf(readingId: string): Promise<string | null> {
  const r = await h.db.pool.query<{ c: string | null }>('SELECT certificate_id AS c FROM meter_readings WHERE id = $1', [readingId]);
  return r.rows[0]!.c;
}

describe('certificate periods are (period_start, period_end]', () => {
  it('leaves out the reading stamped period_start and includes the one stamped period_end', async () => {
    const owner = wallet();
    const meter = await addMeter(h.db, owner);
    const [at10, at1015, at1030, at1045, at11, at1115] = await addReadings(h.db, meter, owner, [
      ['2025-10-01T10:00:00Z', '1'], // energy of 09:45–10:00: before the period
      ['2025-10-01T10:15:00Z', '2'],
      ['2025-10-01T10:30:00Z', '4'],
      ['2025-10-01T10:45:00Z', '8'],
      ['2025-10-01T11:00:00Z', '16'], // energy of 10:45–11:00: the period's last interval
      ['2025-10-01T11:15:00Z', '32'], // after the period
    ]);
    const r = await issue(meter, '2025-10-01T10:00:00Z', '2025-10-01T11:00:00Z');
    expect(r.statusCode).toBe(201);
    const c = r.json();
    expect(c).toMatchObject({ kwh_amount: '30', reading_count: 4, reading_ids: [at1015, at1030, at1045, at11] });
    expect(await certificateOf(at10!)).toBeNull();
    expect(await certificateOf(at11!)).toBe(c.certificate_id);
    expect(await certificateOf(at1115!)).toBeNull();

    // The neighbouring hours tile without overlap: each reading lands in exactly one certificate.
    const before = await issue(meter, '2025-10-01T09:00:00Z', '2025-10-01T10:00:00Z');
    expect(before.statusCode).toBe(201);
    expect(before.json()).toMatchObject({ kwh_amount: '1', reading_ids: [at10] });
    const after = await issue(meter, '2025-10-01T11:00:00Z', '2025-10-01T12:00:00Z');
    expect(after.statusCode).toBe(201);
    expect(after.json()).toMatchObject({ kwh_amount: '32', reading_ids: [at1115] });
  });

  it('a period ending just before a reading, or starting at it, does not hold it', async () => {
    const owner = wallet();
    const meter = await addMeter(h.db, owner);
    await addReadings(h.db, meter, owner, [['2025-10-02T10:00:00Z', '5']]);
    const endsBefore = await issue(meter, '2025-10-02T09:00:00Z', '2025-10-02T09:59:59.999Z');
    expect(endsBefore.statusCode).toBe(409);
    expect(endsBefore.json().error.code).toBe('no_readings');
    const startsAt = await issue(meter, '2025-10-02T10:00:00Z', '2025-10-02T11:00:00Z');
    expect(startsAt.statusCode).toBe(409);
    expect(startsAt.json().error.code).toBe('no_readings');
    const endsAt = await issue(meter, '2025-10-02T09:59:59.999Z', '2025-10-02T10:00:00Z');
    expect(endsAt.statusCode).toBe(201);
    expect(endsAt.json().kwh_amount).toBe('5');
  });

  it('a certificate issued under the old [start, end) rule is not rewritten and still verifies', async () => {
    const owner = wallet();
    const meter = await addMeter(h.db, owner);
    const [at10, , , at1045, at11] = await addReadings(h.db, meter, owner, [
      ['2025-10-03T10:00:00Z', '1'], ['2025-10-03T10:15:00Z', '2'], ['2025-10-03T10:30:00Z', '4'], ['2025-10-03T10:45:00Z', '8'], ['2025-10-03T11:00:00Z', '16'],
    ]);
    // What an older version issued for 10:00–11:00: the readings stamped 10:00 … 10:45. Rebuilt
    // here by issuing for the same readings and writing the old period (and its hash) back.
    const r = await issue(meter, '2025-10-03T09:59:59.999Z', '2025-10-03T10:45:00Z');
    expect(r.json().reading_ids).toEqual([at10, expect.any(String), expect.any(String), at1045]);
    const id = r.json().certificate_id;
    await h.db.pool.query(`UPDATE erc_certificates SET period_start = '2025-10-03T10:00:00Z', period_end = '2025-10-03T11:00:00Z' WHERE certificate_id = $1`, [id]);
    const old = (await getCertificate(h.db.pool, id))!;
    await h.db.pool.query('UPDATE erc_certificates SET content_hash = $2 WHERE certificate_id = $1', [id, contentHash(contentOf(old))]);

    const v = await h.app.inject({ method: 'GET', url: `/api/erc/${id}/verify` });
    expect(v.json()).toMatchObject({ result: 'pending', checks: { backing_readings_match: true } });
    const kept = (await getCertificate(h.db.pool, id))!;
    expect({ kwh: kept.kwh_amount, ids: kept.reading_ids.map(String) }).toEqual({ kwh: '15.000000000', ids: [at10, expect.any(String), expect.any(String), at1045] });
    // the reading it left out (stamped at its period_end) is certified by a period ending there
    const gap = await issue(meter, '2025-10-03T10:45:00Z', '2025-10-03T11:00:00Z');
    expect(gap.json()).toMatchObject({ kwh_amount: '16', reading_ids: [at11] });
  });
});
