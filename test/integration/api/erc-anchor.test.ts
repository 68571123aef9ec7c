import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainClient } from '../../../src/chain/client.js';
import { ChainUnavailableError } from '../../../src/chain/errors.js';
import type { LocalLedger } from '../../../src/chain/ledger/index.js';
import { parseAnchorMemo } from '../../../src/domain/erc.js';
import type { MemoChain } from '../../../src/erc/chain.js';
import { actor, type Actor, addMeter, addReadings, startTestApi, startTestLedger, type TestApi } from '../../harness/index.js';

// The anchor path runs the production chain client against the embedded LiteSVM ledger over
// JSON-RPC (real SPL Memo program). A switch in front of it simulates the RPC being unreachable.
let ledger: LocalLedger;
let client: ChainClient;
let chainDown = false;
const switchable: MemoChain = {
  sendMemo: (t) => (chainDown ? Promise.reject(new ChainUnavailableError('sendTransaction', 'connection refused')) : client.sendMemo(t)),
  findMemo: (s) => (chainDown ? Promise.reject(new ChainUnavailableError('getTransaction', 'connection refused')) : client.findMemo(s)),
};
let h: TestApi;
let authority: Actor;
let day = 0;

beforeAll(async () => {
  ({ ledger, client } = await startTestLedger());
  h = await startTestApi({ chain: switchable });
  authority = actor('rec_authority', 'Anchor Registry');
});
afterAll(async () => {
  await h?.close();
  await ledger?.stop();
});

async function issueOne(kwh: string): Promise<string> {
  const owner = actor('user');
  const meter = await addMeter(h.db, owner.wallet);
  const d = Date.UTC(2025, 1, 1) + day++ * 86_400_000;
  await addReadings(h.db, meter, owner.wallet, [[new Date(d + 60_000).toISOString(), kwh], [new Date(d + 120_000).toISOString(), '0.000000001']]);
  const r = await h.app.inject({
    method: 'POST',
    url: '/api/erc/issue',
    headers: authority.headers,
    payload: { meter_id: meter, period_start: new Date(d).toISOString(), period_end: new Date(d + 86_400_000).toISOString(), metadata: { scheme: 'I-REC', ratio: 0.1 } },
  });
  expect(r.statusCode).toBe(201);
  return r.json().certificate_id;
}

const verify = (id: string) => h.app.inject({ method: 'GET', url: `/api/erc/${id}/verify` });

describe('on-chain anchor and GET /api/erc/:id/verify', () => {
  it('is pending until anchored, then matches the SPL memo on chain (public, no token)', async () => {
    const id = await issueOne('41.999999999');
    const before = await verify(id);
    expect(before.statusCode).toBe(200);
    expect(before.json()).toMatchObject({ result: 'pending', blockchain_tx_signature: null });

    expect(await h.anchor!.runOnce()).toBe(1);
    const row = (await h.db.pool.query('SELECT blockchain_tx_signature AS s, content_hash AS c FROM erc_certificates WHERE certificate_id = $1', [id])).rows[0];
    expect(row.s).toMatch(/^[1-9A-HJ-NP-Za-km-z]{64,90}$/);
    const memo = parseAnchorMemo((await client.findMemo(row.s))!);
    expect(memo).toEqual({ certificateId: id, hash: row.c });

    const after = (await verify(id)).json();
    expect(after).toMatchObject({ result: 'match', computed_hash: row.c, anchored_hash: row.c, blockchain_tx_signature: row.s });
    expect(after.checks).toEqual({ content_matches_anchor: true, backing_readings_match: true });
  });

  it('reports a mismatch when the row is tampered with in SQL', async () => {
    const id = await issueOne('10');
    await h.anchor!.runOnce();
    await h.db.pool.query("UPDATE erc_certificates SET kwh_amount = kwh_amount + 1000 WHERE certificate_id = $1", [id]);
    const v = (await verify(id)).json();
    expect(v.result).toBe('mismatch');
    expect(v.checks.content_matches_anchor).toBe(false);
    expect(v.computed_hash).not.toBe(v.anchored_hash);

    // tampering with what backs it (a linked reading's kWh) is caught too
    const id2 = await issueOne('5');
    await h.anchor!.runOnce();
    await h.db.pool.query("UPDATE meter_readings SET kwh_amount = 50 WHERE certificate_id = $1 AND kwh_amount = 5", [id2]);
    expect((await verify(id2)).json()).toMatchObject({ result: 'mismatch', checks: { content_matches_anchor: true, backing_readings_match: false } });

    // and a tampered row that also rewrote its stored hash still fails against the chain
    const id3 = await issueOne('6');
    await h.anchor!.runOnce();
    await h.db.pool.query("UPDATE erc_certificates SET issuer_name = 'Someone Else', content_hash = repeat('0', 64) WHERE certificate_id = $1", [id3]);
    expect((await verify(id3)).json().result).toBe('mismatch');
  });

  it('a tampered row is caught even before it is anchored', async () => {
    const id = await issueOne('2');
    await h.db.pool.query("UPDATE erc_certificates SET metadata = '{\"scheme\":\"forged\"}' WHERE certificate_id = $1", [id]);
    expect((await verify(id)).json()).toMatchObject({ result: 'mismatch', blockchain_tx_signature: null });
    // the anchor carries the hash recorded at issuance, so anchoring afterwards does not launder it
    expect(await h.anchor!.runOnce()).toBe(1);
    expect((await verify(id)).json()).toMatchObject({ result: 'mismatch', checks: { content_matches_anchor: false } });
  });

  it('issuance works while the chain is down; the anchor is retried and lands later', async () => {
    chainDown = true;
    try {
      const id = await issueOne('3.3');
      expect(await h.anchor!.runOnce()).toBe(0);
      const row = (await h.db.pool.query('SELECT blockchain_tx_signature, anchor_attempts, anchor_last_error FROM erc_certificates WHERE certificate_id = $1', [id])).rows[0];
      expect(row).toMatchObject({ blockchain_tx_signature: null, anchor_attempts: 1 });
      expect(row.anchor_last_error).toMatch(/connection refused/);
      expect((await verify(id)).json().result).toBe('pending');
      // an anchored certificate cannot be checked while the chain is unreachable: 503, not a false answer
      const anchored = (await h.db.pool.query('SELECT certificate_id FROM erc_certificates WHERE blockchain_tx_signature IS NOT NULL LIMIT 1')).rows[0].certificate_id;
      const down = await verify(anchored);
      expect(down.statusCode).toBe(503);
      expect(down.json().error.code).toBe('chain_unavailable');

      chainDown = false;
      expect(await h.anchor!.runOnce()).toBe(0); // backoff: not due yet
      await h.db.pool.query('UPDATE erc_certificates SET anchor_next_attempt_at = now() WHERE certificate_id = $1', [id]);
      expect(await h.anchor!.runOnce()).toBe(1);
      expect((await verify(id)).json().result).toBe('match');
    } finally {
      chainDown = false;
    }
  });

  it('verify: 404 unknown, 400 malformed id', async () => {
    expect((await verify('ERC-2025-123456')).statusCode).toBe(404);
    expect((await verify("ERC-1' OR 1=1")).statusCode).toBe(400);
  });
});
