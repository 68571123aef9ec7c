import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../../src/api/auth.js';
import { createChainClient, type ChainClient } from '../../../src/chain/client.js';
import { loadOrCreateKeypair } from '../../../src/chain/keys.js';
import { createLocalLedger, type LocalLedger } from '../../../src/chain/ledger/index.js';
import { createMetrics } from '../../../src/metrics/registry.js';
import { auditSupply } from '../../../src/mint/audit.js';
import { json, runCli, startTestGateway, type TestGateway, testLogger as logger, wallet } from '../../harness/index.js';

// Issue 8 §6: POST /api/admin/tokens/mint on a real gateway, real PostgreSQL and the embedded
// ledger running the real SPL programs. Supply is read from the chain, never from our own API.
const SECRET = 'operator-mint-test-secret-0123456789abcdef';
const CAP_TOKENS = 50;
let ledger: LocalLedger;
let gw: TestGateway;
let chain: ChainClient;
let mint: string;

const adminHeaders = (sub = 'admin-alice') => ({ authorization: `Bearer ${signToken(SECRET, { sub, role: 'admin' }, 600)}` });

function send(body: object, key: string | null, sub?: string) {
  const headers: Record<string, string> = { ...adminHeaders(sub), ...(key === null ? {} : { 'idempotency-key': key }) };
  return gw.gateway.app.inject({ method: 'POST', url: '/api/admin/tokens/mint', headers, payload: body });
}

const supply = async () => (await chain.getMintInfo(mint))!.supply;
const operatorRows = async () => Number((await gw.gateway.pool.query('SELECT count(*) AS n FROM operator_mints')).rows[0].n);

beforeAll(async () => {
  ledger = createLocalLedger({ host: '127.0.0.1', port: 0, logger });
  await ledger.start();
  gw = await startTestGateway({
    JWT_SECRET: SECRET, MINT_ENABLED: false, SOLANA_RPC_URL: ledger.url, SOLANA_CLUSTER: 'localnet',
    OPERATOR_MINT_MAX_TOKENS: CAP_TOKENS, RATE_LIMIT_PUBLIC_PER_MINUTE: 30,
  });
  chain = createChainClient({ rpcUrl: ledger.url, payer: await loadOrCreateKeypair(`${gw.config.DATA_DIR}/keys/mint-authority.json`), logger });
  mint = (await gw.gateway.pool.query('SELECT mint_address FROM token_mint')).rows[0].mint_address;
});
afterAll(async () => {
  await gw?.stop();
  await ledger?.stop();
});

describe('operator mint guard rails', () => {
  it('refuses a mint without an Idempotency-Key, or with a malformed one, and mints nothing', async () => {
    const body = { wallet_address: wallet(), amount: '1', reason: 'no key' };
    const before = await supply();
    const none = await send(body, null);
    expect(none.statusCode).toBe(400);
    expect(none.json().error.code).toBe('idempotency_key_required');
    const bad = await send(body, 'has space');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('invalid_idempotency_key');
    expect(await supply()).toBe(before);
    expect(await operatorRows()).toBe(0);
  });

  it('three sends with one key mint once and all answer with the first mint', async () => {
    const target = wallet();
    const body = { wallet_address: target, amount: '2.000000001', reason: 'meter replacement correction' };
    const before = await supply();
    const first = await send(body, 'retry-key-1');
    expect(first.statusCode).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = [await send(body, 'retry-key-1'), await send(body, 'retry-key-1')];
    for (const r of again) {
      expect(r.statusCode).toBe(200);
      expect(r.headers['idempotent-replayed']).toBe('true');
      expect(r.json()).toEqual(first.json());
    }
    expect(await supply()).toBe(before + 2_000_000_001n);
    expect((await chain.getTokenBalances(mint, [target])).get(target)).toBe(2_000_000_001n);
    expect(await operatorRows()).toBe(1);
  });

  it('concurrent sends with one key mint once', async () => {
    const target = wallet();
    const body = { wallet_address: target, amount: '3', reason: 'concurrent retry' };
    const before = await supply();
    const rs = await Promise.all(Array.from({ length: 3 }, () => send(body, 'concurrent-key')));
    for (const r of rs) expect([200, 202], r.body).toContain(r.statusCode);
    const ids = new Set(rs.map((r) => r.json().operator_mint_id));
    const sigs = new Set(rs.map((r) => r.json().transaction_signature));
    expect(ids.size).toBe(1);
    expect(sigs.size).toBe(1);
    // a replay after the dust settles reports the confirmed first mint
    const later = await send(body, 'concurrent-key');
    expect(later.json()).toMatchObject({ status: 'confirmed', operator_mint_id: [...ids][0] });
    expect(await supply()).toBe(before + 3_000_000_000n);
    const rows = await gw.gateway.pool.query("SELECT count(*)::int AS n FROM operator_mints WHERE idempotency_key = 'concurrent-key'");
    expect(rows.rows[0].n).toBe(1);
  });

  it('the same key with a different body (or from another admin) is 422 and mints nothing', async () => {
    const body = { wallet_address: wallet(), amount: '1', reason: 'original' };
    expect((await send(body, 'reuse-key')).statusCode).toBe(200);
    const before = await supply();
    for (const [b, sub] of [[{ ...body, amount: '1.5' }, undefined], [{ ...body, reason: 'changed' }, undefined], [{ ...body, wallet_address: wallet() }, undefined], [body, 'admin-bob']] as const) {
      const r = await send(b, 'reuse-key', sub);
      expect(r.statusCode).toBe(422);
      expect(r.json().error.code).toBe('idempotency_key_reused');
    }
    expect(await supply()).toBe(before);
  });

  it('one mint is capped by OPERATOR_MINT_MAX_TOKENS', async () => {
    const before = await supply();
    const over = await send({ wallet_address: wallet(), amount: `${CAP_TOKENS}.000000001`, reason: 'too much' }, 'cap-over');
    expect(over.statusCode).toBe(422);
    expect(over.json().error.code).toBe('amount_over_limit');
    expect(await supply()).toBe(before);
    const atCap = await send({ wallet_address: wallet(), amount: String(CAP_TOKENS), reason: 'exactly the cap' }, 'cap-at');
    expect(atCap.statusCode).toBe(200);
    expect(await supply()).toBe(before + BigInt(CAP_TOKENS) * 1_000_000_000n);
  });

  it('keys are kept 7 days: a retry at 6 days replays, after 7 days the key is purged and mints anew', async () => {
    const body = { wallet_address: wallet(), amount: '1', reason: 'retention' };
    const first = (await send(body, 'old-key')).json();
    const age = (interval: string) => gw.gateway.pool.query(`UPDATE operator_mint_requests SET created_at = now() - $1::interval WHERE idempotency_key = 'old-key'`, [interval]);
    await age('6 days 23 hours');
    const before = await supply();
    expect((await send(body, 'old-key')).json().operator_mint_id).toBe(first.operator_mint_id);
    expect(await supply()).toBe(before);
    await age('7 days 1 minute');
    const fresh = await send(body, 'old-key');
    expect(fresh.statusCode).toBe(200);
    expect(fresh.json().operator_mint_id).not.toBe(first.operator_mint_id);
    expect(await supply()).toBe(before + 1_000_000_000n);
  });

  it('the audit lists every operator mint with its key, admin and reason (library and `gridmint token audit`)', async () => {
    const report = await auditSupply({ pool: gw.gateway.pool, chain, mintAddress: mint, metrics: createMetrics() });
    expect(report.ok).toBe(true);
    expect(report.operator_mints.map((m) => m.idempotency_key)).toEqual(['retry-key-1', 'concurrent-key', 'reuse-key', 'cap-at', 'old-key', 'old-key']);
    expect(report.operator_mints[0]).toMatchObject({ requested_by: 'admin-alice', reason: 'meter replacement correction', amount: '2.000000001', status: 'confirmed' });

    const env = { DATABASE_URL: gw.db.url, DATA_DIR: gw.config.DATA_DIR, SOLANA_RPC_URL: ledger.url, JWT_SECRET: SECRET, LOG_LEVEL: 'warn' };
    const cli = await runCli(['token', 'audit', '--json'], env);
    expect(cli.code, cli.stderr).toBe(0);
    const printed = json<{ ok: boolean; operator_mints: unknown[] }>(cli);
    expect(printed.ok).toBe(true);
    expect(printed.operator_mints).toHaveLength(6);
    expect(printed.operator_mints[1]).toMatchObject({ idempotency_key: 'concurrent-key', requested_by: 'admin-alice', reason: 'concurrent retry' });
  }, 180_000);
});

describe('GET /api/tokens/info (public, reaches the chain)', () => {
  it('answers a burst with one chain lookup, and limits each client per minute', async () => {
    let mintLookups = 0;
    ledger.setFault((method, params) => {
      if (method === 'getAccountInfo' && JSON.stringify(params).includes(mint)) mintLookups++;
      return undefined;
    });
    // Nothing in this file asked for /api/tokens/info before: the burst starts with a cold cache.
    try {
      const burst = await Promise.all(Array.from({ length: 20 }, () => gw.gateway.app.inject({ method: 'GET', url: '/api/tokens/info' })));
      for (const r of burst) expect(r.statusCode).toBe(200);
      expect(new Set(burst.map((r) => r.json().supply_base_units)).size).toBe(1);
      expect(mintLookups).toBe(1);
    } finally {
      ledger.setFault(null);
    }
    const more = [];
    for (let i = 0; i < 11; i++) more.push(await gw.gateway.app.inject({ method: 'GET', url: '/api/tokens/info' }));
    expect(more.slice(0, 10).map((r) => r.statusCode)).toEqual(Array(10).fill(200));
    expect(more[10]!.statusCode).toBe(429); // RATE_LIMIT_PUBLIC_PER_MINUTE = 30
    expect(more[10]!.json().error.code).toBe('rate_limited');
  });

  it('the same request under two different keys is two mints, even sent at once (byte-identical transactions)', async () => {
    const target = wallet();
    const body = { wallet_address: target, amount: '1.5', reason: 'two deliberate corrections' };
    const before = await supply();
    const [a, b] = await Promise.all([send(body, 'twin-key-a'), send(body, 'twin-key-b')]);
    for (const r of [a, b]) expect([200, 202], r.body).toContain(r.statusCode);
    expect(a.json().transaction_signature).not.toBe(b.json().transaction_signature);
    await expect.poll(supply, { timeout: 30_000, interval: 200 }).toBe(before + 3_000_000_000n);
  });
});
