import { generateKeyPairSync } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import { createAuthenticator, signToken } from '../../../src/api/auth.js';
import { createLogger } from '../../../src/logger.js';
import { createMetrics } from '../../../src/metrics/registry.js';
import { actor, SECRET, startTestApi, type TestApi, wallet } from '../../harness/index.js';

let h: TestApi;
beforeAll(async () => {
  h = await startTestApi({ writeRateLimit: 3 });
});
afterAll(async () => h?.close());

const get = (headers: Record<string, string> = {}) => h.app.inject({ method: 'GET', url: '/api/erc/my-certificates', headers });

function tamper(t: string): string {
  const [hd, payload, sig] = t.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
  claims.role = 'admin';
  return `${hd}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
}

describe('bearer tokens', () => {
  it('accepts a valid token', async () => {
    const r = await get(actor('user').headers);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ certificates: [], page: { limit: 50, offset: 0 } });
  });

  it.each([
    ['missing', {}],
    ['not bearer', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['malformed', { authorization: 'Bearer not-a-jwt' }],
    ['garbage segments', { authorization: 'Bearer a.b.c' }],
  ])('401 for a %s Authorization header', async (_name, headers) => {
    const r = await get(headers as Record<string, string>);
    expect(r.statusCode).toBe(401);
    expect(r.json().error.code).toBe('unauthorized');
  });

  it('401 for a tampered token (role raised to admin)', async () => {
    const t = signToken(SECRET, { sub: 'u1', role: 'user', wallet: wallet() }, 60);
    const r = await h.app.inject({ method: 'GET', url: '/api/admin/meters', headers: { authorization: `Bearer ${tamper(t)}` } });
    expect(r.statusCode).toBe(401);
  });

  it('401 for an expired token, saying so', async () => {
    const sign = createSigner({ key: SECRET, algorithm: 'HS256', clockTimestamp: Date.now() - 3_600_000, expiresIn: 60_000 });
    const r = await get({ authorization: `Bearer ${sign({ sub: 'u1', role: 'user' })}` });
    expect(r.statusCode).toBe(401);
    expect(r.json().error.message).toMatch(/expired/);
  });

  it('401 for a token without exp, with another secret, or alg none', async () => {
    const noExp = createSigner({ key: SECRET, algorithm: 'HS256' })({ sub: 'u1', role: 'admin' });
    const other = signToken('another-secret'.padEnd(40, 'y'), { sub: 'u1', role: 'admin' }, 60);
    const none = createSigner({ algorithm: 'none', expiresIn: 60_000 })({ sub: 'u1', role: 'admin' });
    const hs384 = createSigner({ key: SECRET, algorithm: 'HS384', expiresIn: 60_000 })({ sub: 'u1', role: 'admin' });
    for (const t of [noExp, other, none, `${none}x`, hs384]) {
      const r = await h.app.inject({ method: 'GET', url: '/api/admin/meters', headers: { authorization: `Bearer ${t}` } });
      expect(r.statusCode, t).toBe(401);
    }
  });

  it('401 for unknown roles, bad wallet claims and authorities without a name', async () => {
    for (const claims of [{ sub: 'u', role: 'root' }, { sub: 'u', role: 'user', wallet: "x' OR 1=1 --" }, { sub: 'u', role: 'rec_authority', wallet: wallet() }]) {
      const t = createSigner({ key: SECRET, algorithm: 'HS256', expiresIn: 60_000 })(claims);
      expect((await get({ authorization: `Bearer ${t}` })).statusCode).toBe(401);
    }
  });

  it('403 for a valid token with the wrong role; 401 comes before 403', async () => {
    const r = await h.app.inject({ method: 'GET', url: '/api/admin/meters', headers: actor('rec_authority').headers });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('forbidden');
    expect((await h.app.inject({ method: 'GET', url: '/api/admin/meters' })).statusCode).toBe(401);
  });

  it('has no impersonation header or master key', async () => {
    const r = await h.app.inject({
      method: 'GET',
      url: '/api/admin/meters',
      headers: { 'x-user-id': 'admin', 'x-api-key': SECRET, 'x-impersonate': 'admin', authorization: `Bearer ${SECRET}` },
    });
    expect(r.statusCode).toBe(401);
  });

  it('never logs the Authorization header or the token; responses carry the request id', async () => {
    const a = actor('admin');
    const r = await h.app.inject({ method: 'GET', url: '/api/admin/meters', headers: { ...a.headers, 'x-request-id': 'trace-abc-1' } });
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-request-id']).toBe('trace-abc-1');
    const log = h.logLines.join('');
    expect(log).toContain('trace-abc-1');
    // One access line per request, carrying the request as well as the outcome.
    const line = h.logLines.map((l) => JSON.parse(l)).find((l) => l.reqId === 'trace-abc-1' && l.msg === 'request completed');
    expect(line).toMatchObject({ req: { method: 'GET', url: '/api/admin/meters' }, res: { statusCode: 200 } });
    expect(log).not.toContain('incoming request');
    expect(log.toLowerCase()).not.toContain('authorization');
    expect(log).not.toContain(a.headers.authorization.slice(7));
  });

  it('rate-limits write endpoints with the one error shape', async () => {
    const a = actor('admin');
    const codes: number[] = [];
    let last: unknown;
    for (let i = 0; i < 5; i++) {
      const r = await h.app.inject({ method: 'POST', url: '/api/admin/meters', headers: a.headers, payload: {} });
      codes.push(r.statusCode);
      last = r.json();
    }
    expect(codes.slice(0, 3)).toEqual([400, 400, 400]);
    expect(codes.slice(3)).toEqual([429, 429]);
    expect(last).toEqual({ error: { code: 'rate_limited', message: expect.stringMatching(/too many requests/) } });
  });

  it('serves OpenAPI generated from the route schemas at /docs', async () => {
    const r = await h.app.inject({ method: 'GET', url: '/docs/json' });
    expect(r.statusCode).toBe(200);
    const paths = Object.keys(r.json().paths);
    for (const p of ['/api/erc/issue', '/api/erc/my-certificates', '/api/erc/{id}', '/api/erc/{id}/verify', '/api/erc/transfer', '/api/erc/{id}/retire', '/api/admin/meters', '/api/meters/my-readings']) {
      expect(paths).toContain(p);
    }
    expect(r.json().paths['/api/erc/issue'].post.requestBody.content['application/json'].schema.required).toEqual(['meter_id', 'period_start', 'period_end']);
  });

  it('unknown routes answer 404 in the error shape', async () => {
    const r = await h.app.inject({ method: 'GET', url: '/api/nope?x=1' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ error: { code: 'not_found', message: 'no route GET /api/nope' } });
  });
});

describe('public-key tokens (EdDSA / ES256)', () => {
  it('accepts EdDSA and ES256 tokens and refuses HS256 signed with the public key', async () => {
    const ed = generateKeyPairSync('ed25519');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pub = ed.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const app = await buildApp({
      logger: createLogger('silent'),
      metrics: createMetrics(),
      auth: createAuthenticator({ secret: null, publicKey: pub, issuer: 'https://idp.example' }),
      writeRateLimit: 10,
      routes: [(a, auth) => void a.get('/who', async (req) => auth.identify(req))],
    });
    const claims = { sub: 'u9', role: 'user', iss: 'https://idp.example' };
    const good = createSigner({ key: ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm: 'EdDSA', expiresIn: 60_000 })(claims);
    const confused = createSigner({ key: pub, algorithm: 'HS256', expiresIn: 60_000 })(claims);
    const otherKey = createSigner({ key: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm: 'ES256', expiresIn: 60_000 })(claims);
    const wrongIss = createSigner({ key: ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm: 'EdDSA', expiresIn: 60_000 })({ ...claims, iss: 'evil' });
    const call = (t: string) => app.inject({ url: '/who', headers: { authorization: `Bearer ${t}` } });
    expect((await call(good)).json()).toMatchObject({ sub: 'u9', role: 'user' });
    expect((await call(confused)).statusCode).toBe(401);
    expect((await call(otherKey)).statusCode).toBe(401);
    expect((await call(wrongIss)).statusCode).toBe(401);
    await app.close();
  });
});
