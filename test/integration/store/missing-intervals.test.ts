import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertMeter } from '../../../src/store/meters.js';
import { countMissingIntervals } from '../../../src/store/missing-intervals.js';
import { createTestDatabase, type TestDatabase } from '../../harness/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

const HOUR = 3600;

/** Hourly grid points t with now − 24 h ≤ t ≤ now − 1 h: what a meter registered long ago owes. */
function owedHours(nowS: number): number[] {
  const out: number[] = [];
  for (let t = Math.ceil((nowS - 86_400) / HOUR) * HOUR; t <= nowS - HOUR; t += HOUR) out.push(t);
  return out;
}

async function addMeter(id: string, readingsAt: number[]): Promise<void> {
  await insertMeter(db.pool, { id, ownerWallet: 'w', publicKey: 'k', intervalSeconds: HOUR, maxKw: '10', passwordHash: 'x' });
  await db.pool.query("UPDATE meters SET created_at = now() - interval '3 days' WHERE id = $1", [id]);
  for (const t of readingsAt) {
    await db.pool.query(
      "INSERT INTO meter_readings (meter_id, wallet_address, kwh_amount, \"timestamp\", signature, received_at) VALUES ($1, 'w', 1, to_timestamp($2), $3, now())",
      [id, t, `${id}-${t}`],
    );
  }
}

describe('countMissingIntervals', () => {
  it('counts the grid points of the last 24 h without a reading, per active meter', async () => {
    const owed = owedHours(Math.floor(Date.now() / 1000));
    await addMeter('complete', owed);
    await addMeter('gappy', owed.filter((_, i) => i !== 3 && i !== 10));
    await addMeter('silent-suspended', []);
    await db.pool.query("UPDATE meters SET status = 'suspended' WHERE id = 'silent-suspended'");
    // a meter registered 90 minutes ago owes only the last full hour's reading
    await insertMeter(db.pool, { id: 'new', ownerWallet: 'w', publicKey: 'k', intervalSeconds: HOUR, maxKw: '10', passwordHash: 'x' });
    await db.pool.query("UPDATE meters SET created_at = now() - interval '90 minutes' WHERE id = 'new'");
    const newOwes = owedHours(Math.floor(Date.now() / 1000)).filter((t) => t >= Date.now() / 1000 - 5400).length;

    expect(await countMissingIntervals(db.pool)).toEqual({ meters: newOwes > 0 ? 2 : 1, intervals: 2 + newOwes });
  });
});
