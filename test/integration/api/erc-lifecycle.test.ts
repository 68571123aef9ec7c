import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actor, type Actor, addMeter, addReadings, startTestApi, type TestApi, wallet } from '../../harness/index.js';

let h: TestApi;
let authority: Actor;
let owner: Actor;
let day = 0;
beforeAll(async () => {
  h = await startTestApi();
  authority = actor('rec_authority', 'Registry');
  owner = actor('user');
});
afterAll(async () => h?.close());

/** A fresh certificate owned by `owner`, one reading of `kwh` on its own day. */
async function certify(kwh = '1.25', meterOwner: Actor = owner): Promise<string> {
  const meter = await addMeter(h.db, meterOwner.wallet);
  const d = new Date(Date.UTC(2025, 0, 1) + day++ * 86_400_000);
  await addReadings(h.db, meter, meterOwner.wallet, [[new Date(d.getTime() + 3_600_000).toISOString(), kwh]]);
  const r = await h.app.inject({
    method: 'POST',
    url: '/api/erc/issue',
    headers: authority.headers,
    payload: { meter_id: meter, period_start: d.toISOString(), period_end: new Date(d.getTime() + 86_400_000).toISOString() },
  });
  expect(r.statusCode).toBe(201);
  return r.json().certificate_id;
}

const transfer = (who: Actor, certificate_id: string, to_wallet: string) =>
  h.app.inject({ method: 'POST', url: '/api/erc/transfer', headers: who.headers, payload: { certificate_id, to_wallet } });
const retire = (who: Actor, id: string, body: object) => h.app.inject({ method: 'POST', url: `/api/erc/${id}/retire`, headers: who.headers, payload: body });
const view = (who: Actor | null, id: string) => h.app.inject({ method: 'GET', url: `/api/erc/${id}`, headers: who?.headers ?? {} });

describe('GET /api/erc/my-certificates', () => {
  it("lists only the caller's certificates, newest first, paginated", async () => {
    const me = actor('user');
    const ids = [await certify('1', me), await certify('2', me), await certify('3', me)];
    await certify('4'); // someone else's
    const r = await h.app.inject({ method: 'GET', url: '/api/erc/my-certificates?limit=2&offset=0', headers: me.headers });
    expect(r.statusCode).toBe(200);
    expect(r.json().certificates.map((c: { certificate_id: string }) => c.certificate_id)).toEqual([ids[2], ids[1]]);
    expect(r.json().page).toEqual({ limit: 2, offset: 0 });
    const next = await h.app.inject({ method: 'GET', url: '/api/erc/my-certificates?limit=2&offset=2', headers: me.headers });
    expect(next.json().certificates.map((c: { certificate_id: string }) => c.certificate_id)).toEqual([ids[0]]);
  });

  it('list items are exactly the summary of each certificate (retired, transferred, integer and tiny kWh)', async () => {
    const me = actor('user');
    const a = await certify('2', me);
    const b = await certify('0.000000001', me);
    const c = await certify('12345.678901234');
    await transfer(owner, c, me.wallet);
    await retire(me, b, { beneficiary: 'Town "Hall"\\ é', purpose: 'ünïcode' });
    const items = (await h.app.inject({ method: 'GET', url: '/api/erc/my-certificates', headers: me.headers })).json().certificates;
    expect(items.map((x: { certificate_id: string }) => x.certificate_id)).toEqual([c, b, a]);
    for (const item of items) {
      const { reading_ids: _r, transfers: _t, ...summary } = (await view(me, item.certificate_id)).json();
      expect(item).toEqual(summary);
    }
    expect(items.map((x: { kwh_amount: string }) => x.kwh_amount)).toEqual(['12345.678901234', '0.000000001', '2']);
  });

  it('list items stay the summary after each write: anchoring, transfer away, retirement (stored with the row)', async () => {
    const me = actor('user');
    const bob = actor('user');
    const [a, b] = [await certify('3.5', me), await certify('4.5', me)];
    const list = async (who: Actor) =>
      (await h.app.inject({ method: 'GET', url: '/api/erc/my-certificates', headers: who.headers })).json().certificates as { certificate_id: string }[];
    const { markAnchored } = await import('../../../src/store/certificate-anchors.js');
    await markAnchored(h.db.pool, a, '5'.repeat(88));
    expect((await transfer(me, b, bob.wallet)).statusCode).toBe(200);
    expect((await list(me)).map((x) => x.certificate_id)).toEqual([a]);
    const [bobs] = await list(bob);
    expect(bobs).toMatchObject({ certificate_id: b, owner_wallet: bob.wallet, status: 'transferred', retirement: null });
    expect((await retire(bob, b, { beneficiary: 'Bob & Co' })).statusCode).toBe(200);
    const after = { me: await list(me), bob: await list(bob) };
    expect(after.me[0]).toMatchObject({ blockchain_tx_signature: '5'.repeat(88), anchored_at: expect.any(String) });
    expect(after.bob[0]).toMatchObject({ status: 'retired', retirement: { beneficiary: 'Bob & Co', purpose: null } });
    for (const [who, item] of [[me, after.me[0]!], [bob, after.bob[0]!]] as const) {
      const { reading_ids: _r, transfers: _t, ...summary } = (await view(who, item.certificate_id)).json();
      expect(item).toEqual(summary);
    }
  });

  it('400 for limit over 100 or junk paging; 401 without a token; 403 for a token without a wallet', async () => {
    for (const q of ['limit=101', 'limit=0', 'offset=-1', "limit=1;DROP TABLE users", 'limit=abc', 'extra=1']) {
      const r = await h.app.inject({ method: 'GET', url: `/api/erc/my-certificates?${q}`, headers: owner.headers });
      expect(r.statusCode, q).toBe(400);
    }
    expect((await h.app.inject({ method: 'GET', url: '/api/erc/my-certificates' })).statusCode).toBe(401);
    const { token } = await import('../../harness/index.js');
    const r = await h.app.inject({ method: 'GET', url: '/api/erc/my-certificates', headers: { authorization: `Bearer ${token({ sub: 'a', role: 'admin' })}` } });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('no_wallet');
  });
});

describe('GET /api/erc/:id', () => {
  it('owner, issuing authority and admin see it; anyone else gets 404 as if it did not exist', async () => {
    const id = await certify();
    for (const who of [owner, authority, actor('admin')]) {
      const r = await view(who, id);
      expect(r.statusCode).toBe(200);
      expect(r.json()).toMatchObject({ certificate_id: id, reading_count: 1, transfers: [] });
    }
    const stranger = await view(actor('user'), id);
    const otherAuthority = await view(actor('rec_authority', 'Other'), id);
    const missing = await view(actor('user'), 'ERC-2025-999999');
    for (const r of [stranger, otherAuthority, missing]) expect(r.statusCode).toBe(404);
    expect(stranger.json().error.code).toBe(missing.json().error.code);
    expect((await view(null, id)).statusCode).toBe(401);
    expect((await view(owner, "ERC-2025-000001' OR '1'='1")).statusCode).toBe(400);
  });
  it('is the detail view of the stored row and its transfers (JSON built by Postgres), through anchoring, transfer and retirement', async () => {
    const meter = await addMeter(h.db, owner.wallet);
    const d = new Date(Date.UTC(2025, 0, 1) + day++ * 86_400_000);
    await addReadings(h.db, meter, owner.wallet, [[new Date(d.getTime() + 3_600_000).toISOString(), '0.5'], [new Date(d.getTime() + 7_200_000).toISOString(), '10']]);
    const metadata = { program: 'Grün "A"\\', vintage: 2025, share: 0.25, audited: true, note: null };
    const issued = await h.app.inject({
      method: 'POST', url: '/api/erc/issue', headers: authority.headers,
      payload: { meter_id: meter, period_start: d.toISOString(), period_end: new Date(d.getTime() + 86_400_000).toISOString(), metadata },
    });
    expect(issued.statusCode).toBe(201);
    const id = issued.json().certificate_id;
    const { getCertificate, listTransfers } = await import('../../../src/store/certificates.js');
    const { detailView } = await import('../../../src/api/routes/erc-views.js');
    const { markAnchored } = await import('../../../src/store/certificate-anchors.js');
    const expectViewOfRow = async (who: Actor) => {
      const r = await view(who, id);
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      const row = (await getCertificate(h.db.pool, id))!;
      expect(r.json()).toEqual(JSON.parse(JSON.stringify(detailView({ certificate: row, transfers: await listTransfers(h.db.pool, id) }))));
      return r.json();
    };
    expect(await expectViewOfRow(owner)).toEqual(issued.json());
    await markAnchored(h.db.pool, id, '6'.repeat(88));
    await expectViewOfRow(authority);
    const bob = actor('user');
    expect((await transfer(owner, id, bob.wallet)).statusCode).toBe(200);
    expect((await expectViewOfRow(bob)).transfers).toHaveLength(1);
    expect((await retire(bob, id, { beneficiary: 'B', purpose: 'p' })).statusCode).toBe(200);
    expect((await expectViewOfRow(actor('admin'))).metadata).toEqual(metadata);
  });
});

describe('POST /api/erc/transfer', () => {
  it('moves ownership, records the transfer, and the new owner can move it on', async () => {
    const id = await certify('7.7');
    const bob = actor('user');
    const r = await transfer(owner, id, bob.wallet);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ owner_wallet: bob.wallet, status: 'transferred', issued_to_wallet: owner.wallet, kwh_amount: '7.7' });
    expect(r.json().transfers).toEqual([{ from_wallet: owner.wallet, to_wallet: bob.wallet, transferred_at: expect.any(String), blockchain_tx_signature: null }]);
    expect((await view(owner, id)).statusCode).toBe(404); // the previous owner no longer sees it
    // The detail (one JSON document built by Postgres) is the same document as the transfer's answer.
    expect((await view(bob, id)).json()).toEqual(r.json());
    const carol = wallet();
    expect((await transfer(bob, id, carol)).json().owner_wallet).toBe(carol);
    const rows = await h.db.pool.query('SELECT from_wallet, to_wallet, transferred_by FROM erc_certificate_transfers WHERE certificate_id = $1 ORDER BY id', [id]);
    expect(rows.rows).toEqual([
      { from_wallet: owner.wallet, to_wallet: bob.wallet, transferred_by: owner.sub },
      { from_wallet: bob.wallet, to_wallet: carol, transferred_by: bob.sub },
    ]);
  });

  it('refuses anyone but the current owner (404 if they cannot see it, 403 issuer/admin) and changes nothing', async () => {
    const id = await certify();
    const thief = actor('user');
    const a = await transfer(thief, id, thief.wallet);
    expect(a.statusCode).toBe(404);
    expect((await transfer(authority, id, authority.wallet)).statusCode).toBe(403);
    expect((await transfer(actor('admin'), id, wallet())).json().error.code).toBe('not_owner');
    const row = await h.db.pool.query('SELECT owner_wallet, status FROM erc_certificates WHERE certificate_id = $1', [id]);
    expect(row.rows[0]).toEqual({ owner_wallet: owner.wallet, status: 'active' });
    expect((await h.db.pool.query('SELECT count(*)::int AS n FROM erc_certificate_transfers WHERE certificate_id = $1', [id])).rows[0].n).toBe(0);
  });

  it('400 for bad wallets, same owner, SQL-looking ids; 401 without a token; 404 unknown', async () => {
    const id = await certify();
    expect((await transfer(owner, id, "abc'; UPDATE erc_certificates SET owner_wallet='x'; --")).statusCode).toBe(400);
    expect((await transfer(owner, id, '0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl')).statusCode).toBe(400);
    expect((await transfer(owner, id, owner.wallet)).json().error.code).toBe('same_owner');
    expect((await transfer(owner, "ERC-2025-000001'--", wallet())).statusCode).toBe(400);
    expect((await h.app.inject({ method: 'POST', url: '/api/erc/transfer', payload: { certificate_id: id, to_wallet: wallet() } })).statusCode).toBe(401);
    expect((await transfer(owner, 'ERC-2025-999998', wallet())).statusCode).toBe(404);
    expect((await view(owner, id)).json()).toMatchObject({ owner_wallet: owner.wallet, status: 'active' });
  });
});

describe('POST /api/erc/:id/retire', () => {
  it('retires for a beneficiary; final: no second retire, no transfer', async () => {
    const id = await certify('3.000000007');
    const r = await retire(owner, id, { beneficiary: "O'Brien & Sons; DROP TABLE users; --", purpose: 'Scope 2 claim 2025' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      status: 'retired',
      kwh_amount: '3.000000007',
      retirement: { beneficiary: "O'Brien & Sons; DROP TABLE users; --", purpose: 'Scope 2 claim 2025', retired_at: expect.any(String) },
    });
    const again = await retire(owner, id, { beneficiary: 'Someone else' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('certificate_retired');
    const moved = await transfer(owner, id, wallet());
    expect(moved.statusCode).toBe(409);
    const row = (await view(owner, id)).json();
    expect(row.retirement.beneficiary).toBe("O'Brien & Sons; DROP TABLE users; --");
    expect(row.owner_wallet).toBe(owner.wallet);
    expect((await h.db.pool.query("SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'users'")).rows[0].n).toBe(1);
  });

  it('only the owner retires; bad bodies are 400 and change nothing', async () => {
    const id = await certify();
    expect((await retire(actor('user'), id, { beneficiary: 'x' })).statusCode).toBe(404);
    expect((await retire(authority, id, { beneficiary: 'x' })).statusCode).toBe(403);
    for (const body of [{}, { beneficiary: '' }, { beneficiary: 'b'.repeat(201) }, { beneficiary: 'a\u0000b' }, { beneficiary: 'ok', extra: 1 }, { beneficiary: 5 }]) {
      expect((await retire(owner, id, body)).statusCode, JSON.stringify(body)).toBe(400);
    }
    expect((await retire({ ...owner, headers: { authorization: 'Bearer x.y.z' } }, id, { beneficiary: 'x' })).statusCode).toBe(401);
    expect((await view(owner, id)).json().status).toBe('active');
  });

  it('a former owner gets 403 not_owner saying the certificate was transferred (not a 404), for retire and transfer', async () => {
    const id = await certify();
    const bob = actor('user');
    const carol = actor('user');
    expect((await transfer(owner, id, bob.wallet)).statusCode).toBe(200);
    expect((await transfer(bob, id, carol.wallet)).statusCode).toBe(200);
    for (const former of [owner, bob]) {
      const r = await retire(former, id, { beneficiary: 'x' });
      expect(r.statusCode).toBe(403);
      expect(r.json().error).toEqual({ code: 'not_owner', message: `certificate ${id} was transferred to another wallet; only its current owner may retire it` });
      expect((await transfer(former, id, former.wallet)).json().error.code).toBe('not_owner');
    }
    // a stranger still cannot tell that the certificate exists
    expect((await retire(actor('user'), id, { beneficiary: 'x' })).statusCode).toBe(404);
    expect((await retire(carol, id, { beneficiary: 'Carol' })).statusCode).toBe(200);
  });
});

