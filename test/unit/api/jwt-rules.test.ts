import { createSigner } from 'fast-jwt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAuthenticator, DEFAULT_JWT_MAX_TTL_SECONDS, signToken } from '../../../src/api/auth.js';

// Issue 8 §7: a token's lifetime (exp − iat) is capped by JWT_MAX_TTL_SECONDS, iat is required,
// and JWT_AUDIENCE, when set, must be in `aud`.
const SECRET = 'jwt-rules-secret-'.padEnd(48, 'z');
const claims = { sub: 'u1', role: 'user' };
const signer = (opts: Record<string, unknown>) => createSigner({ key: SECRET, algorithm: 'HS256', ...opts });

function refusal(auth: ReturnType<typeof createAuthenticator>, token: string): string | null {
  try {
    auth.verifyToken(token);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('token lifetime', () => {
  const auth = createAuthenticator({ secret: SECRET, publicKey: null, issuer: null });

  it('accepts up to 30 days by default and refuses a second more', () => {
    expect(DEFAULT_JWT_MAX_TTL_SECONDS).toBe(2_592_000);
    expect(refusal(auth, signToken(SECRET, { sub: 'u1', role: 'user' }, 2_592_000))).toBeNull();
    expect(refusal(auth, signToken(SECRET, { sub: 'u1', role: 'user' }, 2_592_001))).toMatch(/lifetime .* exceeds 2592000 s/);
  });

  it('refuses a token without iat (its lifetime cannot be known) or issued in the future', () => {
    expect(refusal(auth, signer({ noTimestamp: true, expiresIn: 60_000 })(claims))).toMatch(/iat claim is required/);
    const future = signer({ clockTimestamp: Date.now() + 3_600_000, expiresIn: 60_000 })(claims);
    expect(refusal(auth, future)).toMatch(/issued in the future/);
  });

  it('honours a lower JWT_MAX_TTL_SECONDS', () => {
    const short = createAuthenticator({ secret: SECRET, publicKey: null, issuer: null, maxTtlSeconds: 3600 });
    expect(refusal(short, signToken(SECRET, { sub: 'u1', role: 'user' }, 3600))).toBeNull();
    expect(refusal(short, signToken(SECRET, { sub: 'u1', role: 'user' }, 3601))).toMatch(/exceeds 3600 s/);
  });
});

describe('issuer and audience', () => {
  it('when JWT_ISSUER is set, a token without iss is refused', () => {
    const auth = createAuthenticator({ secret: SECRET, publicKey: null, issuer: 'https://gridmint.example' });
    expect(refusal(auth, signToken(SECRET, { sub: 'u1', role: 'user' }, 60, 'https://gridmint.example'))).toBeNull();
    expect(refusal(auth, signToken(SECRET, { sub: 'u1', role: 'user' }, 60))).toMatch(/iss claim is required/);
  });

  it('when JWT_AUDIENCE is set, only tokens naming it are accepted', () => {
    const auth = createAuthenticator({ secret: SECRET, publicKey: null, issuer: null, audience: 'gridmint-api' });
    expect(refusal(auth, signToken(SECRET, { sub: 'u1', role: 'user' }, 60, null, 'gridmint-api'))).toBeNull();
    expect(refusal(auth, signToken(SECRET, { sub: 'u1', role: 'user' }, 60))).not.toBeNull();
    expect(refusal(auth, signToken(SECRET, { sub: 'u1', role: 'user' }, 60, null, 'other-api'))).not.toBeNull();
  });

  it('without JWT_AUDIENCE a token with or without aud is accepted', () => {
    const auth = createAuthenticator({ secret: SECRET, publicKey: null, issuer: null });
    expect(refusal(auth, signToken(SECRET, { sub: 'u1', role: 'user' }, 60, null, 'anything'))).toBeNull();
    expect(refusal(auth, signToken(SECRET, { sub: 'u1', role: 'user' }, 60))).toBeNull();
  });
});

describe('accepted tokens are remembered until they expire', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers the same principal again, refuses it once exp has passed, and never accepts a tampered copy', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-06-01T00:00:00Z'));
    const auth = createAuthenticator({ secret: SECRET, publicKey: null, issuer: null });
    const t = signToken(SECRET, { sub: 'u1', role: 'user', wallet: '586Z7H2vpX9qNhN2T4e9Utugie3ogjbxzGaMtM3E6HR5' }, 60);
    const first = auth.verifyToken(t);
    expect(first).toEqual({ sub: 'u1', role: 'user', wallet: '586Z7H2vpX9qNhN2T4e9Utugie3ogjbxzGaMtM3E6HR5', name: null });
    expect(auth.verifyToken(t)).toEqual(first);
    const [h, p, sig] = t.split('.');
    expect(refusal(auth, `${h}.${p}.${sig!.slice(0, -2)}${sig!.endsWith('AA') ? 'BB' : 'AA'}`)).toBe('token is invalid');
    vi.setSystemTime(new Date('2026-06-01T00:01:00Z')); // now = exp: still valid, as fast-jwt rules
    expect(refusal(auth, t)).toBeNull();
    vi.setSystemTime(new Date('2026-06-01T00:01:00.001Z'));
    expect(refusal(auth, t)).toBe('token has expired');
    expect(refusal(auth, t)).toBe('token has expired');
  });
});
