import { Keypair } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../../src/domain/credential.js';
import { baseUnitsToKwh, numericToBaseUnits } from '../../../src/domain/kwh.js';
import { listReadingsOfOwner } from '../../../src/store/meters.js';
import { actor, addMeter, addReadings, startTestApi, type TestApi, wallet } from '../../harness/index.js';

let h: TestApi;
beforeAll(async () => {
  h = await startTestApi();
});
afterAll(async () => h?.close());

describe('POST/GET /api/admin/meters', () => {
  it('admin registers a meter and gets the MQTT password once; only its hash is stored', async () => {
    const admin = actor('admin');
    const body = { id: 'roof-17.a', wallet: wallet(), pubkey: Keypair.generate().publicKey.toBase58(), interval_seconds: 300, max_kw: '25.5' };
    const r = await h.app.inject({ method: 'POST', url: '/api/admin/meters', headers: admin.headers, payload: body });
    expect(r.statusCode).toBe(201);
    const m = r.json();
    expect(m).toMatchObject({ id: 'roof-17.a', wallet: body.wallet, pubkey: body.pubkey, status: 'active', interval_seconds: 300, max_kw: '25.5', max_kwh_per_interval: '2.125', mqtt_username: 'roof-17.a' });
    const stored = await h.db.pool.query('SELECT mqtt_password_hash AS h FROM meters WHERE id = $1', [body.id]);
    expect(stored.rows[0].h).not.toContain(m.mqtt_password);
    expect(verifyPassword(m.mqtt_password, stored.rows[0].h)).toBe(true);
    expect(h.logLines.join('')).not.toContain(m.mqtt_password);

    const dup = await h.app.inject({ method: 'POST', url: '/api/admin/meters', headers: admin.headers, payload: body });
    expect(dup.statusCode).toBe(409);
    const list = await h.app.inject({ method: 'GET', url: '/api/admin/meters?limit=10', headers: admin.headers });
    expect(list.json().meters.map((x: { id: string }) => x.id)).toContain('roof-17.a');
    expect(list.json().meters[0]).not.toHaveProperty('mqtt_password');
    expect(list.json().meters.find((x: { id: string }) => x.id === 'roof-17.a')).toMatchObject({ interval_seconds: 300, max_kw: '25.5' });
  });

  it('defaults to 900 s and 400 kW, the 100 kWh per reading gridmint always allowed', async () => {
    const body = { id: 'defaults-1', wallet: wallet(), pubkey: Keypair.generate().publicKey.toBase58() };
    const r = await h.app.inject({ method: 'POST', url: '/api/admin/meters', headers: actor('admin').headers, payload: body });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ interval_seconds: 900, max_kw: '400', max_kwh_per_interval: '100' });
    await h.db.pool.query('DELETE FROM meters WHERE id = $1', [body.id]);
  });

  it('refuses bad registrations (same rules as the CLI), non-admins and missing tokens', async () => {
    const admin = actor('admin');
    const ok = { id: 'm-ok', wallet: wallet(), pubkey: Keypair.generate().publicKey.toBase58() };
    for (const bad of [
      { ...ok, id: "m'; DROP TABLE meters; --" },
      { ...ok, wallet: 'not-a-wallet' },
      { ...ok, pubkey: '1111111111111111111111111111111111111111111' }, // base58 but not 32 bytes
      { ...ok, max_kw: '0' },
      { ...ok, max_kw: '1.0000000001' },
      { ...ok, max_kw: 5 },
      { ...ok, max_kwh: '100' }, // retired, not an alias
      { ...ok, interval_seconds: 7 }, // does not divide 86400
      { ...ok, interval_seconds: 0 },
      { ...ok, interval_seconds: 172800 },
      { ...ok, interval_seconds: 1.5 },
      { ...ok, interval_seconds: '900' },
      { ...ok, status: 'active' },
    ]) {
      const r = await h.app.inject({ method: 'POST', url: '/api/admin/meters', headers: admin.headers, payload: bad });
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
    }
    expect((await h.app.inject({ method: 'POST', url: '/api/admin/meters', headers: actor('user').headers, payload: ok })).statusCode).toBe(403);
    expect((await h.app.inject({ method: 'GET', url: '/api/admin/meters', headers: actor('rec_authority').headers })).statusCode).toBe(403);
    expect((await h.app.inject({ method: 'GET', url: '/api/admin/meters' })).statusCode).toBe(401);
    expect((await h.db.pool.query("SELECT count(*)::int AS n FROM meters WHERE id <> 'roof-17.a'")).rows[0].n).toBe(0);
  });
});

describe('GET /api/meters/my-readings', () => {
  it("returns only the caller's meters' readings, newest first, paginated", async () => {
    const me = actor('user');
    const other = actor('user');
    const m1 = await addMeter(h.db, me.wallet);
    const m2 = await addMeter(h.db, me.wallet);
    const mo = await addMeter(h.db, other.wallet);
    await addReadings(h.db, m1, me.wallet, [['2025-01-01T00:00:00Z', '1.000000001'], ['2025-01-01T02:00:00Z', '2']]);
    await addReadings(h.db, m2, me.wallet, [['2025-01-01T01:00:00Z', '0.5']]);
    await addReadings(h.db, mo, other.wallet, [['2025-01-01T03:00:00Z', '9']]);
    const r = await h.app.inject({ method: 'GET', url: '/api/meters/my-readings?limit=2', headers: me.headers });
    expect(r.statusCode).toBe(200);
    expect(r.json().readings.map((x: { kwh_amount: string; meter_id: string }) => [x.meter_id, x.kwh_amount])).toEqual([[m1, '2'], [m2, '0.5']]);
    const p2 = await h.app.inject({ method: 'GET', url: '/api/meters/my-readings?limit=2&offset=2', headers: me.headers });
    expect(p2.json().readings).toEqual([expect.objectContaining({ meter_id: m1, kwh_amount: '1.000000001', timestamp: '2025-01-01T00:00:00.000Z', minted: false, certificate_id: null })]);
    expect((await h.app.inject({ method: 'GET', url: '/api/meters/my-readings' })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: '/api/meters/my-readings?limit=500', headers: me.headers })).statusCode).toBe(400);
  });

  it('answers exactly the view of the stored rows (JSON built by Postgres)', async () => {
    const me = actor('user');
    const m = await addMeter(h.db, me.wallet);
    const ids = await addReadings(h.db, m, me.wallet, [
      ['2025-02-01T00:00:00Z', '7.250000000'], ['2025-02-01T00:15:00.5Z', '12'], ['2025-02-01T00:30:00.123Z', '1.500000000'], ['2025-02-01T00:45:00Z', '0.000000001'],
    ]);
    // Microseconds in received_at (now() has them) are truncated to milliseconds, as a JS Date does.
    await h.db.pool.query(
      `UPDATE meter_readings SET received_at = timestamptz '2025-02-01 00:46:01.987654+00' WHERE id = $1`,
      [ids[1]],
    );
    // A minted reading: booleans and the signature as JSON (Postgres spells a boolean as text t/f).
    await h.db.pool.query(
      `WITH o AS (INSERT INTO mint_outbox (kind, status, mint_address, signature, blockhash, last_valid_block_height, tx_bytes, instruction_count, total_base_units, resolved_at)
                  VALUES ('readings', 'confirmed', 'm', $2, 'b', 1, '\\x00', 1, 1, now()) RETURNING id)
       UPDATE meter_readings SET minted = true, mint_tx_signature = $2, mint_outbox_id = (SELECT id FROM o) WHERE id = $1`,
      [ids[3], '4'.repeat(87)],
    );
    const rows = await listReadingsOfOwner(h.db.pool, me.wallet, 50, 0);
    const view = rows.map((x) => ({
      ...x,
      kwh_amount: baseUnitsToKwh(numericToBaseUnits(x.kwh_amount)),
      timestamp: x.timestamp.toISOString(),
      received_at: x.received_at.toISOString(),
    }));
    const r = await h.app.inject({ method: 'GET', url: '/api/meters/my-readings', headers: me.headers });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.json()).toEqual({ readings: view, page: { limit: 50, offset: 0 } });
    expect(r.json().readings.map((x: { kwh_amount: string }) => x.kwh_amount)).toEqual(['0.000000001', '1.5', '12', '7.25']);
    expect(r.json().readings[2]).toMatchObject({ id: ids[1], minted: false, mint_tx_signature: null, received_at: '2025-02-01T00:46:01.987Z' });
    expect(r.json().readings[0]).toMatchObject({ id: ids[3], minted: true, mint_tx_signature: '4'.repeat(87), certificate_id: null });
    const empty = await h.app.inject({ method: 'GET', url: '/api/meters/my-readings?offset=10', headers: me.headers });
    expect(empty.body).toBe('{"readings":[],"page":{"limit":50,"offset":10}}');
  });
});
