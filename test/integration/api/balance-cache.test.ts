import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../../src/api/auth.js';
import { createLocalLedger, type LocalLedger } from '../../../src/chain/ledger/index.js';
import { ataAddress } from '../../../src/chain/tokens.js';
import { startTestGateway, type TestGateway, testLogger as logger, until, wallet } from '../../harness/index.js';

const SECRET = 'balance-cache-test-secret-0123456789abcdef';
const CACHE_MS = 1_500;
let ledger: LocalLedger;
let gw: TestGateway;
const calls: string[] = [];

const bearer = (role: 'user' | 'admin', w?: string) => ({
  authorization: `Bearer ${signToken(SECRET, { sub: `${role}-${w ?? 'x'}`, role, ...(w ? { wallet: w } : {}) }, 600)}`,
});
const balance = (w: string) => gw.gateway.app.inject({ method: 'GET', url: `/api/tokens/balance/${w}`, headers: bearer('user', w) });
const mint = (w: string, amount: string) =>
  gw.gateway.app.inject({ method: 'POST', url: '/api/admin/tokens/mint', headers: { ...bearer('admin'), 'idempotency-key': randomUUID() }, payload: { wallet_address: w, amount, reason: 'balance cache test' } });

beforeAll(async () => {
  ledger = createLocalLedger({ host: '127.0.0.1', port: 0, logger });
  await ledger.start();
  // Counts the gateway's balance reads without changing them.
  ledger.setFault((method) => void calls.push(method));
  gw = await startTestGateway({ JWT_SECRET: SECRET, MINT_ENABLED: false, SOLANA_RPC_URL: ledger.url, SOLANA_CLUSTER: 'localnet', BALANCE_CACHE_MS: CACHE_MS });
});
afterAll(async () => {
  await gw?.stop();
  await ledger?.stop();
});

describe('GET /api/tokens/balance through the balance cache', () => {
  it('says how old its value is, and concurrent requests share one chain read', async () => {
    const ws = Array.from({ length: 30 }, () => wallet());
    calls.length = 0;
    const res = await Promise.all([...ws, ...ws].map((w) => balance(w)));
    expect(res.every((r) => r.statusCode === 200 && r.json().balance_tokens === '0')).toBe(true);
    expect(calls.filter((m) => m === 'getMultipleAccounts')).toHaveLength(1);
    expect(calls.filter((m) => m === 'getAccountInfo')).toHaveLength(0);
    const body = res[0]!.json();
    expect(Date.parse(body.as_of)).toBeLessThanOrEqual(Date.now());
    expect(body.age_ms).toBeGreaterThanOrEqual(0);
    expect(res[0]!.headers.age).toMatch(/^\d+$/);

    // Served from memory: 30 more requests, at most a background refresh or two reach the chain.
    calls.length = 0;
    const t0 = Date.now();
    for (let i = 0; i < 30; i++) expect((await balance(ws[i]!)).json().age_ms).toBeLessThan(CACHE_MS);
    expect(calls.filter((m) => m === 'getMultipleAccounts').length).toBeLessThanOrEqual(2 + Math.floor((Date.now() - t0) / (CACHE_MS / 2)));
  });

  it('misses read together answer each wallet its own balance: minted amounts, and 0 for a wallet with no token account', async () => {
    const amounts = new Map([[wallet(), '1'], [wallet(), '0.000000001'], [wallet(), '123.456'], [wallet(), '7']]);
    for (const [w, a] of amounts) expect((await mint(w, a)).statusCode).toBe(200);
    const fresh = [wallet(), wallet()];
    const asked = [...amounts.keys(), ...fresh];
    const mintAddress = (await gw.gateway.app.inject({ method: 'GET', url: '/api/tokens/info' })).json().mint_address;
    const ours = new Set(asked.map((w) => ataAddress(mintAddress, w)));
    // Which accounts each getMultipleAccounts asked for (background refreshes of other tests' wallets may run too).
    const batches: string[][] = [];
    ledger.setFault((method, params) => {
      if (method === 'getMultipleAccounts') batches.push(params[0] as string[]);
      return undefined;
    });
    const res = await Promise.all(asked.map((w) => balance(w))).finally(() => ledger.setFault((method) => void calls.push(method)));
    const withOurs = batches.filter((b) => b.some((k) => ours.has(k)));
    expect(withOurs).toHaveLength(1);
    expect(withOurs[0]).toEqual(expect.arrayContaining([...ours]));
    expect(res.map((r) => [r.json().wallet_address, r.json().balance_tokens])).toEqual([...[...amounts].map(([w, a]) => [w, a]), [fresh[0], '0'], [fresh[1], '0']]);
  });

  it('a mint by this gateway shows at once, although the old balance was cached', async () => {
    const w = wallet();
    expect((await balance(w)).json().balance_tokens).toBe('0');
    expect((await mint(w, '1.000000001')).statusCode).toBe(200);
    expect((await balance(w)).json().balance_tokens).toBe('1.000000001');
    expect((await mint(w, '2')).statusCode).toBe(200);
    expect((await balance(w)).json().balance_tokens).toBe('3.000000001');
  });

  it('chain down: a fresh cached value is served with its age, never a 0; past the cache age it is 503', async () => {
    const w = wallet();
    expect((await mint(w, '5')).statusCode).toBe(200);
    expect((await balance(w)).json().balance_tokens).toBe('5');
    ledger.setFault(() => 'error');
    try {
      const cached = await balance(w);
      expect(cached.statusCode).toBe(200);
      expect(cached.json()).toMatchObject({ balance_tokens: '5', age_ms: expect.any(Number) });
      const unknown = await balance(wallet());
      expect(unknown.statusCode).toBe(503);
      expect(unknown.json().error.code).toBe('chain_unavailable');
      await until(async () => (await balance(w)).statusCode === 503, 15_000, 'the cached balance to age out');
      const stale = await balance(w);
      expect(stale.json().balance_tokens).toBeUndefined();
      expect(stale.json().error.code).toBe('chain_unavailable');
    } finally {
      ledger.setFault((method) => void calls.push(method));
    }
    expect((await balance(w)).json().balance_tokens).toBe('5');
  });
});
