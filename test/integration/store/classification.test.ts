import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REASON_STATUS } from '../../../src/api/routes/readings.js';
import { REJECT_REASONS } from '../../../src/domain/reasons.js';
import { outcomeCode } from '../../../src/domain/outcome.js';
import { statusPayload } from '../../../src/ingest/types.js';
import { withTransaction } from '../../../src/store/pool.js';
import { insertReadings, type ReadingRow } from '../../../src/store/readings.js';
import { insertQuarantine } from '../../../src/store/rejected.js';
import { createTestDatabase, type TestDatabase } from '../../harness/index.js';

/**
 * `reason → status` from the README's "Over HTTP" table (rows like "| 422 | `stale`, `conflict` |"),
 * for every reason code named in a row; a reason named under two statuses is an error.
 */
function readmeSubmitStatuses(): Map<string, number> {
  const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
  const section = readme.slice(readme.indexOf('### Over HTTP'), readme.indexOf('## Brokers'));
  const reasons = new Set<string>(REJECT_REASONS);
  const out = new Map<string, number>();
  for (const m of section.matchAll(/^\| (\d{3}) \| (.*) \|$/gm)) {
    for (const c of m[2]!.matchAll(/`([a-z_]+)`/g)) {
      if (!reasons.has(c[1]!)) continue;
      if (out.has(c[1]!) && out.get(c[1]!) !== Number(m[1])) throw new Error(`README lists ${c[1]} under ${out.get(c[1]!)} and ${m[1]}`);
      out.set(c[1]!, Number(m[1]));
    }
  }
  return out;
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query("INSERT INTO meters (id, owner_wallet, public_key, mqtt_password_hash) VALUES ('m1', 'w', 'k', 'h')");
});
afterAll(async () => db?.drop());

let n = 0;
const row = (timestamp: string, signature: string, kwh = '1.5'): ReadingRow => ({
  idx: n++, meterId: 'm1', wallet: 'w', kwh, timestamp, signature, receivedAt: new Date(),
});
const write = (rows: ReadingRow[]) => withTransaction(db.pool, (c) => insertReadings(c, rows));

describe('insertReadings: the database decides duplicate vs conflict', () => {
  it('classifies new, in-batch copies, in-batch conflicts and earlier rows', async () => {
    const a = row('2026-01-01T10:00:00Z', 'sigA');
    const aCopy = { ...row('2026-01-01T10:00:00Z', 'sigA') };
    const aOther = row('2026-01-01T10:00:00Z', 'sigX', '2');
    const b = row('2026-01-01T11:00:00Z', 'sigB', '0.000000001');
    const first = await write([a, aCopy, aOther, b]);
    const stored0 = first.get(a.idx)!;
    expect(stored0.ok && stored0.outcome).toBe('accepted');
    expect(first.get(aCopy.idx)).toEqual({ ok: true, outcome: 'duplicate', readingId: stored0.ok && stored0.readingId, detail: null, notes: [] });
    expect(first.get(aOther.idx)).toEqual({ ok: false, reason: 'conflict', detail: `reading ${stored0.ok && stored0.readingId} is already stored for m1 at 2026-01-01T10:00:00Z with different content` });
    expect(outcomeCode(first.get(b.idx)!)).toBe('accepted');

    // Same instant written with an offset: Postgres compares timestamps, the signature differs → conflict.
    const later = await write([row('2026-01-01T12:00:00+02:00', 'sigOffset'), row('2026-01-01T11:00:00Z', 'sigB')]);
    expect([...later.values()].map(outcomeCode)).toEqual(['conflict', 'duplicate']);
    const stored = await db.pool.query('SELECT signature, kwh_amount FROM meter_readings ORDER BY "timestamp"');
    expect(stored.rows).toEqual([{ signature: 'sigA', kwh_amount: '1.500000000' }, { signature: 'sigB', kwh_amount: '0.000000001' }]);
  });

  it('quarantines the raw bytes losslessly up to 64 KiB (NUL and invalid UTF-8 included), capped beyond with the true size', async () => {
    const whole = Buffer.concat([Buffer.from([0x00, 0xff, 0xfe, 0x0a]), Buffer.alloc(60_000, 0x41)]);
    const huge = Buffer.alloc(70_000, 0x42);
    await withTransaction(db.pool, (c) => insertQuarantine(c, [
      { source: 'mqtt', topic: 'meters/m1/readings', meterId: 'm1', raw: whole, reason: 'too_large', detail: 'whole', receivedAt: new Date() },
      { source: 'mqtt', topic: 'meters/m1/readings', meterId: 'm1', raw: huge, reason: 'too_large', detail: 'huge', receivedAt: new Date() },
    ]));
    const { rows } = await db.pool.query<{ raw: Buffer; raw_size: number; detail: string | null }>(
      "SELECT raw, raw_size, detail FROM rejected_readings WHERE meter_id = 'm1'",
    );
    const kept = rows.find((r) => r.detail === 'whole')!;
    expect(kept.raw_size).toBe(whole.length);
    expect(Buffer.compare(kept.raw, whole)).toBe(0);
    const cut = rows.find((r) => r.detail?.startsWith('huge'))!;
    expect(cut).toMatchObject({ raw_size: 70_000 });
    expect(cut.raw.length).toBe(65_536);
    expect(cut.detail).toMatch(/truncated to 65536 of 70000 bytes/);
  });
});

describe('what meters and HTTP clients are told', () => {
  it("answers each reason code over HTTP with the status in the README's submit table", () => {
    const documented = readmeSubmitStatuses();
    // forbidden_topic can only happen on MQTT (HTTP has no topic), so the HTTP table omits it.
    const httpReasons = REJECT_REASONS.filter((r) => r !== 'forbidden_topic');
    expect(Object.fromEntries(httpReasons.map((r) => [r, documented.get(r)]))).toEqual(
      Object.fromEntries(httpReasons.map((r) => [r, REASON_STATUS[r]])),
    );
  });

  it('publishes a compact status document', () => {
    const ok = JSON.parse(statusPayload({ ok: true, outcome: 'accepted', meterId: 'm1', readingId: '7', timestamp: 't', detail: null, notes: [] }).toString());
    expect(ok).toEqual({ timestamp: 't', outcome: 'accepted', reason: null, detail: null, reading_id: '7' });
    const bad = JSON.parse(statusPayload({ ok: false, reason: 'stale', meterId: 'm1', timestamp: 't', detail: 'old' }).toString());
    expect(bad).toEqual({ timestamp: 't', outcome: 'rejected', reason: 'stale', detail: 'old', reading_id: null });
  });
});
