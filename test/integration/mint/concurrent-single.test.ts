import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../../src/api/auth.js';
import { insertMeter } from '../../../src/store/meters.js';
import { startTestGateway, type TestGateway, wallet } from '../../harness/index.js';

/**
 * Issue 12 A1: many callers mint the same reading at once, racing a batch run. Identical
 * requests build byte-identical transactions (same blockhash, same instructions, same signer),
 * so the outbox's unique signature is hit; that must be a 409, never a 500.
 */
const SECRET = 'concurrent-mint-test-secret-0123456789abcdef';
let gw: TestGateway;
const owner = wallet();
const auth = { authorization: `Bearer ${signToken(SECRET, { sub: 'owner', role: 'user', wallet: owner }, 600)}` };
const admin = { authorization: `Bearer ${signToken(SECRET, { sub: 'admin', role: 'admin' }, 600)}` };

beforeAll(async () => {
  gw = await startTestGateway({ JWT_SECRET: SECRET, MINT_ENABLED: false, SOLANA_CLUSTER: 'localnet' });
  await insertMeter(gw.gateway.pool, { id: 'race-meter', ownerWallet: owner, publicKey: wallet(), passwordHash: 'x' });
});
afterAll(async () => {
  await gw?.stop();
});

async function reading(kwh: string, minutesAgo: number): Promise<string> {
  const r = await gw.gateway.pool.query<{ id: string }>(
    `INSERT INTO meter_readings (meter_id, wallet_address, kwh_amount, "timestamp", signature, received_at)
     VALUES ('race-meter', $1, $2::numeric, now() - make_interval(mins => $3::int), 'sig', now()) RETURNING id`,
    [owner, kwh, minutesAgo],
  );
  return r.rows[0]!.id;
}

const supply = async () => (await gw.gateway.app.inject({ method: 'GET', url: '/api/tokens/info' })).json().supply_base_units as string;

describe('concurrent mint-from-reading', () => {
  it.each([1, 2, 3])('20 requests for one reading plus a batch run (round %i): exactly one mint, no 5xx', { timeout: 90_000 }, async (round) => {
    const before = BigInt(await supply());
    const id = await reading(`${round}.000000007`, round * 10);
    const body = { reading_id: Number(id), wallet_address: owner };
    // The batch run starts before, among, or after the requests, so each side sometimes wins.
    const batchAt = [0, 10, 20][round - 1]!;
    let batch: Promise<LightMyRequestResponse> | undefined;
    const requests: Promise<LightMyRequestResponse>[] = [];
    for (let i = 0; i <= 20; i++) {
      if (i === batchAt) batch = gw.gateway.app.inject({ method: 'POST', url: '/api/admin/tokens/mint-run', headers: admin });
      if (i < 20) requests.push(gw.gateway.app.inject({ method: 'POST', url: '/api/tokens/mint-from-reading', headers: auth, payload: body }));
    }
    const answers = await Promise.all(requests);
    const run = await batch!;
    expect(run.statusCode).toBe(200);

    const summary = answers.map((a) => `${a.statusCode}:${a.statusCode === 200 ? a.json().status : a.json().error?.code}`);
    for (const a of answers) expect(a.statusCode, summary.join(' ')).toBeLessThan(500);
    const ok = answers.filter((a) => a.statusCode === 200);
    const conflicts = answers.filter((a) => a.statusCode === 409);
    expect(ok.length + conflicts.length, summary.join(' ')).toBe(20);
    for (const c of conflicts) expect(['mint_pending', 'already_minted']).toContain(c.json().error.code);
    // Exactly one minter: one HTTP 200, or none if the batch run claimed the reading first.
    const mintedByBatch = run.json().confirmed === 1;
    expect(ok.length + (mintedByBatch ? 1 : 0), `${summary.join(' ')} batch=${JSON.stringify(run.json())}`).toBe(1);
    if (ok.length === 1) expect(ok[0]!.json()).toMatchObject({ success: true, status: 'confirmed', tokens_minted: `${round}.000000007` });

    const row = await gw.gateway.pool.query<{ minted: boolean; n: string }>(
      `SELECT minted, (SELECT count(*) FROM mint_outbox_entries e JOIN mint_outbox o ON o.id = e.outbox_id
                       WHERE o.status = 'confirmed' AND o.id = r.mint_outbox_id)::text AS n
       FROM meter_readings r WHERE id = $1`,
      [id],
    );
    expect(row.rows[0]).toEqual({ minted: true, n: '1' });
    expect(BigInt(await supply()) - before).toBe(BigInt(round) * 1_000_000_000n + 7n);
    // Everyone asking again now hears the same settled answer.
    const again = await gw.gateway.app.inject({ method: 'POST', url: '/api/tokens/mint-from-reading', headers: auth, payload: body });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('already_minted');
  });
});
