import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustProxySetting } from '../../../src/api/app.js';
import type { ChainClient } from '../../../src/chain/client.js';
import type { LocalLedger } from '../../../src/chain/ledger/index.js';
import type { MemoChain } from '../../../src/erc/chain.js';
import { actor, addMeter, addReadings, startTestApi, startTestLedger, type TestApi, wallet } from '../../harness/index.js';

// Issue 8 §7: the public endpoint that reads the chain (verify) is cached single-flight and
// limited per client, and the client is the real one behind a proxy only when HTTP_TRUST_PROXY
// says so. The anchor lives on the embedded ledger (real SPL Memo program).
let ledger: LocalLedger;
let client: ChainClient;
let memoLookups = 0;
const counting: MemoChain = {
  sendMemo: (t) => client.sendMemo(t),
  findMemo: (s) => (memoLookups++, client.findMemo(s)),
};
let direct: TestApi;
let proxied: TestApi;

beforeAll(async () => {
  ({ ledger, client } = await startTestLedger());
  direct = await startTestApi({ chain: counting, memoCacheMs: 60_000, publicRateLimit: 5 });
  proxied = await startTestApi({ publicRateLimit: 2, trustProxy: 'true' });
});
afterAll(async () => {
  await direct?.close();
  await proxied?.close();
  await ledger?.stop();
});

const verify = (h: TestApi, id: string, forwardedFor?: string) =>
  h.app.inject({ method: 'GET', url: `/api/erc/${id}/verify`, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} });

describe('GET /api/erc/:id/verify at the edge', () => {
  it('a burst makes one chain lookup; the client is then limited, whatever X-Forwarded-For it claims', async () => {
    const owner = wallet();
    const meter = await addMeter(direct.db, owner);
    await addReadings(direct.db, meter, owner, [['2025-11-01T00:15:00Z', '7']]);
    const authority = actor('rec_authority', 'Edge Registry');
    const issued = await direct.app.inject({
      method: 'POST', url: '/api/erc/issue', headers: authority.headers,
      payload: { meter_id: meter, period_start: '2025-11-01T00:00:00Z', period_end: '2025-11-01T01:00:00Z' },
    });
    expect(issued.statusCode).toBe(201);
    const id = issued.json().certificate_id;
    expect(await direct.anchor!.runOnce()).toBe(1);

    const burst = await Promise.all(Array.from({ length: 5 }, () => verify(direct, id)));
    for (const r of burst) expect(r.json().result).toBe('match');
    expect(memoLookups).toBe(1);
    // HTTP_TRUST_PROXY is off: a claimed forwarded address does not buy a fresh bucket
    const spoofed = await verify(direct, id, '203.0.113.9');
    expect(spoofed.statusCode).toBe(429);
    expect(spoofed.json().error.code).toBe('rate_limited');
  });

  it('behind a trusted proxy each forwarded client has its own limit', async () => {
    const unknown = 'ERC-2025-000001';
    expect((await verify(proxied, unknown, '198.51.100.1')).statusCode).toBe(404);
    expect((await verify(proxied, unknown, '198.51.100.1')).statusCode).toBe(404);
    expect((await verify(proxied, unknown, '198.51.100.1')).statusCode).toBe(429);
    expect((await verify(proxied, unknown, '198.51.100.2')).statusCode).toBe(404);
  });

  it('HTTP_TRUST_PROXY values map onto fastify trustProxy', () => {
    expect(trustProxySetting('false')).toBe(false);
    expect(trustProxySetting(undefined)).toBe(false);
    expect(trustProxySetting('true')).toBe(true);
    expect(trustProxySetting('10.0.0.0/8, 192.168.1.7')).toEqual(['10.0.0.0/8', '192.168.1.7']);
    const hops = trustProxySetting('1') as (a: string, hop: number) => boolean;
    expect([hops('10.0.0.1', 0), hops('10.0.0.2', 1)]).toEqual([true, false]);
  });
});
