import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stored } from '../../../src/domain/outcome.js';
import { withTransaction } from '../../../src/store/pool.js';
import { storeRegisterMessages, type RegisterMessage } from '../../../src/store/register-reads.js';
import { addRegisterMeter, createTestDatabase, type TestDatabase } from '../../harness/index.js';

// Several messages of one meter in one write transaction: the chain is loaded once (one statement
// for meter lock, anchor and window) and written once, so reads placed earlier in the batch must
// shape those placed later exactly as separate batches would.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

const base = Date.now() - 6 * 3_600_000;
const at = (h: number) => new Date(base + h * 3_600_000).toISOString();

let idx = 0;
const msg = (meterId: string, h: number, register: string): RegisterMessage => ({
  idx: idx++, meterId, wallet: 'w', signature: `sig-${idx}`, receivedAt: new Date(), reads: [{ timestamp: at(h), registerKwh: register }], page: null, record: null,
});

async function store(...msgs: RegisterMessage[]): Promise<Stored[]> {
  const out = await withTransaction(db.pool, (c) => storeRegisterMessages(c, msgs));
  return msgs.map((m) => out.get(m.idx)!);
}

async function reads(meterId: string) {
  const r = await db.pool.query<{ id: string; ts: Date; register: string; kwh: string; state: string }>(
    `SELECT id, "timestamp" AS ts, trim_scale(register_kwh)::text AS register, trim_scale(kwh_amount)::text AS kwh, energy_state AS state
       FROM meter_readings WHERE meter_id = $1 ORDER BY "timestamp"`,
    [meterId],
  );
  return r.rows.map((x) => [x.ts.toISOString(), x.register, x.kwh, x.state]);
}

async function sum(meterId: string): Promise<string> {
  const r = await db.pool.query<{ s: string }>('SELECT trim_scale(sum(kwh_amount))::text AS s FROM meter_readings WHERE meter_id = $1', [meterId]);
  return r.rows[0]!.s;
}

describe('register reads of one meter in one batch', () => {
  it('out of order: derived as if they had arrived in time order', async () => {
    const m = await addRegisterMeter(db.pool);
    const out = await store(msg(m.id, 2, '1008'), msg(m.id, 0, '1000'), msg(m.id, 1, '1003'));
    expect(out.map((o) => o.ok && o.outcome)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(await reads(m.id)).toEqual([
      [at(0), '1000', '0', 'baseline'],
      [at(1), '1003', '3', 'rise'],
      [at(2), '1008', '5', 'rise'],
    ]);
  });

  it('a read that splits a stored unminted rise, beside a newer one: the stored rise shrinks', async () => {
    const m = await addRegisterMeter(db.pool);
    await store(msg(m.id, 0, '1000'), msg(m.id, 2, '1010'));
    await store(msg(m.id, 3, '1015'), msg(m.id, 1, '1004'));
    expect(await reads(m.id)).toEqual([
      [at(0), '1000', '0', 'baseline'],
      [at(1), '1004', '4', 'rise'],
      [at(2), '1010', '6', 'rise'],
      [at(3), '1015', '5', 'rise'],
    ]);
    expect(await sum(m.id)).toBe('15'); // last register − baseline
  });

  it('a late read inside a rise claimed by a mint, beside newer reads: 0 energy, the claimed rise untouched', async () => {
    const m = await addRegisterMeter(db.pool);
    await store(msg(m.id, 0, '1000'), msg(m.id, 1, '1010'));
    // the rise to at(1) is claimed by a mint transaction (what the minter records before sending)
    await db.pool.query(`
      INSERT INTO token_mint (mint_address, cluster, decimals, mint_authority) VALUES ('mint', 'localnet', 9, 'auth') ON CONFLICT DO NOTHING;
      INSERT INTO mint_outbox (kind, status, mint_address, signature, blockhash, last_valid_block_height, tx_bytes, instruction_count, total_base_units)
        VALUES ('readings', 'pending', 'mint', 'sig-${m.id}', 'bh', 10, '\\x01', 2, 10000000000);
      UPDATE meter_readings SET mint_outbox_id = (SELECT id FROM mint_outbox WHERE signature = 'sig-${m.id}')
       WHERE meter_id = '${m.id}' AND "timestamp" = '${at(1)}'`);
    const out = await store(msg(m.id, 3, '1030'), msg(m.id, 0.5, '1004'), msg(m.id, 2, '1020'));
    expect(out.map((o) => o.ok && o.notes)).toEqual([[], ['late_read'], []]);
    expect(await reads(m.id)).toEqual([
      [at(0), '1000', '0', 'baseline'],
      [at(0.5), '1004', '0', 'late'],
      [at(1), '1010', '10', 'rise'],
      [at(2), '1020', '10', 'rise'],
      [at(3), '1030', '10', 'rise'],
    ]);
    expect(await sum(m.id)).toBe('30');
  });

  it('a copy of a read placed earlier in the same batch is a duplicate of its new row; a different value a conflict', async () => {
    const m = await addRegisterMeter(db.pool);
    const first = msg(m.id, 0, '1000');
    const out = await store(first, { ...msg(m.id, 0, '1000') }, msg(m.id, 0, '1001'));
    expect(out[0]).toMatchObject({ ok: true, outcome: 'accepted' });
    expect(out[1]).toMatchObject({ ok: true, outcome: 'duplicate', readingId: (out[0] as { readingId: string }).readingId });
    expect(out[2]).toMatchObject({ ok: false, reason: 'conflict' });
    expect((await reads(m.id)).length).toBe(1);
  });

  it('two meters, one on hold: reads after the hold began are held, the other meter counts on', async () => {
    const a = await addRegisterMeter(db.pool);
    const b = await addRegisterMeter(db.pool);
    await store(msg(a.id, 0, '1000'), msg(b.id, 0, '50'), msg(a.id, 1, '900'), msg(b.id, 1, '55'));
    const out = await store(msg(b.id, 2, '60'), msg(a.id, 2, '910'), msg(a.id, 3, '920'));
    expect(out.every((o) => o.ok)).toBe(true);
    expect((await reads(a.id)).map((r) => r[3])).toEqual(['baseline', 'held', 'held', 'held']);
    expect(await reads(b.id)).toEqual([[at(0), '50', '0', 'baseline'], [at(1), '55', '5', 'rise'], [at(2), '60', '5', 'rise']]);
    const h = await db.pool.query<{ s: Date }>('SELECT hold_since AS s FROM meters WHERE id = $1', [a.id]);
    expect(h.rows[0]!.s.toISOString()).toBe(at(1));
  });

  it('a second writer of the same meter waits for the first to commit, then derives from its read', async () => {
    const m = await addRegisterMeter(db.pool);
    await store(msg(m.id, 0, '1000'));
    const first = await db.pool.connect();
    try {
      await first.query('BEGIN');
      await storeRegisterMessages(first, [msg(m.id, 1, '1004')]);
      let done = false;
      const second = store(msg(m.id, 2, '1010')).then((r) => ((done = true), r));
      await new Promise((r) => setTimeout(r, 300));
      expect(done).toBe(false); // blocked on the meter row lock
      await first.query('COMMIT');
      expect((await second)[0]).toMatchObject({ ok: true, outcome: 'accepted' });
    } finally {
      first.release();
    }
    expect(await reads(m.id)).toEqual([
      [at(0), '1000', '0', 'baseline'],
      [at(1), '1004', '4', 'rise'],
      [at(2), '1010', '6', 'rise'],
    ]);
  });
});
