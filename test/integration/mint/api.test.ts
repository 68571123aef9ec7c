import { Keypair } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../../src/api/auth.js';
import { createChainClient } from '../../../src/chain/client.js';
import { loadOrCreateKeypair } from '../../../src/chain/keys.js';
import { createLocalLedger, type LocalLedger } from '../../../src/chain/ledger/index.js';
import { createMetrics } from '../../../src/metrics/registry.js';
import { auditSupply } from '../../../src/mint/audit.js';
import { recordOutbox } from '../../../src/store/outbox.js';
import { insertMeter } from '../../../src/store/meters.js';
import { startTestGateway, type TestGateway, testLogger as logger, wallet } from '../../harness/index.js';

const SECRET = 'mint-api-test-secret-0123456789abcdef-xyz';
let ledger: LocalLedger;
let gw: TestGateway;
let gw2: TestGateway;
const owner = wallet();
const stranger = wallet();
const ids: string[] = [];

const bearer = (claims: { role: 'user' | 'admin' | 'rec_authority'; wallet?: string }) => ({
  authorization: `Bearer ${signToken(SECRET, { sub: `${claims.role}-${claims.wallet ?? 'x'}`, ...claims }, 600)}`,
});
const admin = bearer({ role: 'admin' });

async function inject(method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}, payload?: unknown) {
  return gw.gateway.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
}

beforeAll(async () => {
  // The gateway talks to a ledger this test controls (SOLANA_RPC_URL), so it can fail it on demand.
  ledger = createLocalLedger({ host: '127.0.0.1', port: 0, logger });
  await ledger.start();
  const common = { JWT_SECRET: SECRET, MINT_ENABLED: false, SOLANA_RPC_URL: ledger.url, SOLANA_CLUSTER: 'localnet' } as const;
  gw = await startTestGateway(common);
  const pool = gw.gateway.pool;
  await insertMeter(pool, { id: 'api-meter', ownerWallet: owner, publicKey: wallet(), passwordHash: 'x' });
  const r = await pool.query<{ id: string }>(
    `INSERT INTO meter_readings (meter_id, wallet_address, kwh_amount, "timestamp", signature, received_at)
     SELECT 'api-meter', $1, k::numeric, now() - make_interval(mins => i::int), 'sig', now()
     FROM unnest($2::text[]) WITH ORDINALITY AS v(k, i) RETURNING id`,
    [owner, ['1.5', '0.000000001', '2', '3', '4']],
  );
  ids.push(...r.rows.map((x) => x.id));
  // A second gateway on the same database and chain, sharing the same mint authority key file.
  gw2 = await startTestGateway({ ...common, MINT_AUTHORITY_KEYPAIR: `${gw.config.DATA_DIR}/keys/mint-authority.json` }, { db: gw.db });
});
afterAll(async () => {
  await gw2?.stop();
  await gw?.stop();
  await ledger?.stop();
});

describe('token HTTP endpoints', () => {
  it('GET /api/tokens/info is public and describes the mint the gateway created', async () => {
    const res = await inject('GET', '/api/tokens/info');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ decimals: 9, supply_tokens: '0', cluster: 'localnet', mint_address: expect.any(String) });
    const again = await gw2.gateway.app.inject({ method: 'GET', url: '/api/tokens/info' });
    expect(again.json().mint_address).toBe(res.json().mint_address); // recorded once, shared
  });

  it('POST /api/tokens/mint-from-reading: owner mints, with the refusals a caller can act on', async () => {
    const body = { reading_id: Number(ids[0]), wallet_address: owner };
    expect((await inject('POST', '/api/tokens/mint-from-reading', {}, body)).statusCode).toBe(401);
    expect((await inject('POST', '/api/tokens/mint-from-reading', bearer({ role: 'user', wallet: stranger }), body)).statusCode).toBe(403);
    const wrong = await inject('POST', '/api/tokens/mint-from-reading', bearer({ role: 'user', wallet: stranger }), { ...body, wallet_address: stranger });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.code).toBe('wallet_mismatch');
    const missing = await inject('POST', '/api/tokens/mint-from-reading', admin, { reading_id: 999999, wallet_address: owner });
    expect(missing.statusCode).toBe(404);

    const ok = await inject('POST', '/api/tokens/mint-from-reading', bearer({ role: 'user', wallet: owner }), body);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ success: true, status: 'confirmed', tokens_minted: '1.5', reading_id: ids[0] }); // answered as a string
    const twice = await inject('POST', '/api/tokens/mint-from-reading', bearer({ role: 'user', wallet: owner }), body);
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe('already_minted');

    // the id exactly as submit-reading and the status topic give it: a string
    const tiny = await inject('POST', '/api/tokens/mint-from-reading', admin, { reading_id: ids[1], wallet_address: owner });
    expect(tiny.json()).toMatchObject({ success: true, tokens_minted: '0.000000001', reading_id: ids[1] });
    for (const bad of ['12a', '0', '-3', '', '1'.repeat(19), 1.5]) {
      const r = await inject('POST', '/api/tokens/mint-from-reading', admin, { reading_id: bad, wallet_address: owner });
      expect(r.statusCode, `reading_id ${JSON.stringify(bad)}`).toBe(400);
    }
  });

  it('409 when a reading is held by a pending batch transaction', async () => {
    // An outbox row as a crashed batch leaves it: recorded, never sent, blockhash long expired.
    const info = (await inject('GET', '/api/tokens/info')).json();
    const held = await recordOutbox(gw.gateway.pool, [{
      kind: 'readings', mintAddress: info.mint_address, signature: `pending-${Date.now()}`, blockhash: Keypair.generate().publicKey.toBase58(),
      lastValidBlockHeight: 1, bytes: new Uint8Array([1]), instructionCount: 2, entries: [{ wallet: owner, baseUnits: 2_000_000_000n }], readingIds: [ids[2]!],
    }]);
    expect(held).toHaveLength(1);
    const res = await inject('POST', '/api/tokens/mint-from-reading', admin, { reading_id: Number(ids[2]), wallet_address: owner });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('mint_pending');
    const list = await inject('GET', '/api/admin/meters/unminted?limit=2&offset=0', admin);
    expect(list.statusCode).toBe(200);
    // one paging shape for every list; the old top-level fields stay for existing clients
    expect(list.json()).toMatchObject({ page: { limit: 2, offset: 0, total: 3 }, total: 3, limit: 2, offset: 0 });
    expect(list.json().readings).toHaveLength(2);
    expect(list.json().readings[0]).toMatchObject({ id: ids[2], kwh_amount: '2.000000000', pending_outbox_id: held![0] });
    expect((await inject('GET', '/api/admin/meters/unminted', bearer({ role: 'user', wallet: owner }))).statusCode).toBe(403);
  });

  it('the admin batch run (on either gateway) reconciles the stale row and mints the rest once', async () => {
    const [a, b] = await Promise.all([
      inject('POST', '/api/admin/tokens/mint-run', admin),
      gw2.gateway.app.inject({ method: 'POST', url: '/api/admin/tokens/mint-run', headers: admin }),
    ]);
    expect([a.json().result, b.json().result].sort()).toEqual(['skipped', 'success']);
    const rest = await inject('POST', '/api/admin/tokens/mint-run', admin);
    expect(rest.json()).toMatchObject({ result: 'empty', skipped_readings: 0 });
    expect([a.json(), b.json()].find((r) => r.result === 'success')).toHaveProperty('skipped_readings', 0);
    expect((await inject('GET', '/api/admin/meters/unminted', admin)).json().page.total).toBe(0);
  });

  it('operator mint is admin-only, recorded with its reason, and part of the audit', async () => {
    const target = wallet();
    const body = { wallet_address: target, amount: '2.000000001', reason: 'correction for meter replacement' };
    expect((await inject('POST', '/api/admin/tokens/mint', bearer({ role: 'user', wallet: target }), body)).statusCode).toBe(403);
    const res = await inject('POST', '/api/admin/tokens/mint', { ...admin, 'idempotency-key': 'api-test-operator-mint' }, body);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, amount: '2.000000001', reason: body.reason, wallet_address: target });
    const bal = await inject('GET', `/api/tokens/balance/${target}`, bearer({ role: 'user', wallet: target }));
    expect(bal.json()).toMatchObject({ wallet_address: target, balance_tokens: '2.000000001', balance_kwh: '2.000000001' });
    const info = (await inject('GET', '/api/tokens/info')).json();
    expect(await audit(info.mint_address)).toMatchObject({ ok: true, recorded_operator_base_units: '2000000001', drift_base_units: '0' });
    expect(info.supply_tokens).toBe('12.500000002'); // 1.5 + 1e-9 + 2 + 3 + 4 + 2.000000001
  });

  it('GET /api/tokens/balance: exact decimal, 0 without an account, 400 bad key, 503 when the chain is unreachable', async () => {
    const user = bearer({ role: 'user', wallet: owner });
    expect((await inject('GET', `/api/tokens/balance/${owner}`)).statusCode).toBe(401);
    const ok = await inject('GET', `/api/tokens/balance/${owner}`, user);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ balance_tokens: '10.500000001', last_updated: expect.any(String) });
    expect((await inject('GET', `/api/tokens/balance/${wallet()}`, user)).json().balance_tokens).toBe('0');
    const bad = await inject('GET', '/api/tokens/balance/not-a-key', user);
    expect(bad.statusCode).toBe(400);

    ledger.setFault(() => 'error');
    // A wallet with nothing fresh in the balance cache (owner's was just read and is still fresh).
    const down = await inject('GET', `/api/tokens/balance/${stranger}`, user);
    expect(down.statusCode).toBe(503);
    expect(down.json().error.code).toBe('chain_unavailable');
    ledger.setFault(null);
    const metrics = await inject('GET', '/metrics');
    expect(metrics.body).toMatch(/gridmint_chain_rpc_errors_total\{method="getMultipleAccounts"\} [1-9]/);
    expect(metrics.body).toMatch(/gridmint_tokens_minted_total [1-9]/);

    await ledger.stop(); // connection refused, not just an error status
    const gone = await inject('GET', `/api/tokens/balance/${wallet()}`, user);
    expect(gone.statusCode).toBe(503);
    expect(gone.json().balance_tokens).toBeUndefined();
    await ledger.start();
  });
});

/** The audit through a chain client of our own (same ledger, same key file as the gateway). */
async function audit(mintAddress: string) {
  const payer = await loadOrCreateKeypair(`${gw.config.DATA_DIR}/keys/mint-authority.json`);
  const chain = createChainClient({ rpcUrl: ledger.url, payer, logger });
  return auditSupply({ pool: gw.gateway.pool, chain, mintAddress, metrics: createMetrics() });
}
