import { generateKeyPairSync } from 'node:crypto';
import { Keypair } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actor, SECRET, startTestGateway, type TestGateway, wallet } from '../../harness/index.js';

let t: TestGateway;
const admin = actor('admin');

beforeAll(async () => {
  t = await startTestGateway({ INGEST_VERIFY_WORKERS: 0, JWT_SECRET: SECRET, MINT_ENABLED: false });
});
afterAll(async () => {
  await t?.stop();
});

async function api(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = admin.headers) {
  const res = await fetch(`${t.gateway.urls.http}${path}`, {
    method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('POST /api/admin/meters for register and OCMF meters', () => {
  it('registers an OCMF meter from a PEM key (stored as SPKI DER hex) and a register JSON meter; the list shows them', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1' });
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const ocmf = await api('POST', '/api/admin/meters', { id: 'wallbox-1', wallet: wallet(), pubkey: pem, format: 'ocmf', obis: '1-0:2.8.0', serial: 'GS-9', max_kw: '22' });
    expect(ocmf.status, JSON.stringify(ocmf.body)).toBe(201);
    expect(ocmf.body).toMatchObject({
      reads: 'register', format: 'ocmf', obis: '1-0:2.8.0', serial: 'GS-9', max_kw: '22', on_hold_since: null,
      pubkey: publicKey.export({ format: 'der', type: 'spki' }).toString('hex'),
    });
    const reg = await api('POST', '/api/admin/meters', { id: 'shelly-1', wallet: wallet(), pubkey: Keypair.generate().publicKey.toBase58(), reads: 'register', register_modulus: '1000000', initial_register: '12.5', max_kw: '5' });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    expect(reg.body).toMatchObject({ reads: 'register', format: 'json', register_modulus: '1000000', initial_register: '12.5', obis: null });
    const list = await api('GET', '/api/admin/meters?limit=10');
    expect(list.body.meters.map((m: { id: string; reads: string; format: string }) => [m.id, m.reads, m.format])).toEqual([['shelly-1', 'register', 'json'], ['wallbox-1', 'register', 'ocmf']]);
  });

  it('refuses inconsistent registrations with 400 naming the field', async () => {
    const ok = { wallet: wallet(), pubkey: Keypair.generate().publicKey.toBase58() };
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' }).toString('hex');
    const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).toString('hex');
    for (const [body, field] of [
      [{ ...ok, id: 'x2', register_modulus: '1000', max_kw: '5' }, 'reads'], // modulus on an interval meter
      [{ ...ok, id: 'x3', reads: 'register', obis: '1-0:1.8.0' }, 'format'], // OBIS is for OCMF
      [{ ...ok, id: 'x4', format: 'ocmf' }, 'pubkey'], // an ed25519 base58 key is no OCMF key
      [{ ...ok, id: 'x5', format: 'ocmf', pubkey: ed }, 'pubkey'], // not an EC key
      [{ ...ok, id: 'x6', format: 'ocmf', pubkey: ec, obis: 'not-obis' }, 'obis'],
    ] as const) {
      const r = await api('POST', '/api/admin/meters', body);
      expect({ status: r.status, message: r.body.error?.message?.split(':')[0] }, JSON.stringify(body)).toEqual({ status: 400, message: field });
    }
  });

  it('replace/rebase: 404 unknown meter, 409 not on hold, 403 for non-admins', async () => {
    const at = new Date().toISOString();
    expect((await api('POST', '/api/admin/meters/nope/rebase', { at, reason: 'r' })).status).toBe(404);
    const r = await api('POST', '/api/admin/meters/shelly-1/rebase', { at, reason: 'r' });
    expect(r).toMatchObject({ status: 409, body: { error: { code: 'not_on_hold' } } });
    expect((await api('POST', '/api/admin/meters/shelly-1/rebase', { at, reason: 'r' }, actor('user').headers)).status).toBe(403);
  });
});
