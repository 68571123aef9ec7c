import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../../src/api/auth.js';
import { insertMeter } from '../../../src/store/meters.js';
import { startTestGateway, type TestGateway, wallet } from '../../harness/index.js';

/** Issue 12 A2: MINT_MAX_READINGS_PER_RUN, set in the gateway's config, caps each batch run. */
const SECRET = 'run-limit-test-secret-0123456789abcdef-xyz';
let gw: TestGateway;
const admin = { authorization: `Bearer ${signToken(SECRET, { sub: 'admin', role: 'admin' }, 600)}` };

beforeAll(async () => {
  gw = await startTestGateway({ JWT_SECRET: SECRET, MINT_ENABLED: false, SOLANA_CLUSTER: 'localnet', MINT_MAX_READINGS_PER_RUN: 4 });
  await insertMeter(gw.gateway.pool, { id: 'limit-meter', ownerWallet: wallet(), publicKey: wallet(), passwordHash: 'x' });
});
afterAll(async () => {
  await gw?.stop();
});

describe('MINT_MAX_READINGS_PER_RUN', () => {
  it('mints at most that many readings per run, oldest first, until none are left', { timeout: 60_000 }, async () => {
    const owners = [wallet(), wallet(), wallet()];
    const r = await gw.gateway.pool.query<{ id: string }>(
      `INSERT INTO meter_readings (meter_id, wallet_address, kwh_amount, "timestamp", signature, received_at)
       SELECT 'limit-meter', ($1::text[])[(i % 3) + 1], i::numeric, now() - make_interval(mins => 100 - i), 'sig', now()
       FROM generate_series(1, 10) AS i ORDER BY i RETURNING id::text`,
      [owners],
    );
    const ids = r.rows.map((x) => x.id);
    const runs: { readings: number; minted_kwh: string; result: string }[] = [];
    const mintedIds: string[][] = [];
    for (let i = 0; i < 4; i++) {
      const res = await gw.gateway.app.inject({ method: 'POST', url: '/api/admin/tokens/mint-run', headers: admin });
      expect(res.statusCode).toBe(200);
      runs.push(res.json());
      const m = await gw.gateway.pool.query<{ id: string }>('SELECT id::text AS id FROM meter_readings WHERE minted ORDER BY meter_readings.id');
      mintedIds.push(m.rows.map((x) => x.id));
    }
    expect(runs.map((x) => x.readings)).toEqual([4, 4, 2, 0]);
    expect(runs.map((x) => x.minted_kwh)).toEqual(['10', '26', '19', '0']); // 1+2+3+4, 5+…+8, 9+10
    expect(runs.map((x) => x.result)).toEqual(['success', 'success', 'success', 'empty']);
    expect(mintedIds).toEqual([ids.slice(0, 4), ids.slice(0, 8), ids, ids]);
    const info = (await gw.gateway.app.inject({ method: 'GET', url: '/api/tokens/info' })).json();
    expect(info.supply_base_units).toBe('55000000000');
  });
});
