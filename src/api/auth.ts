import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import type { FastifyRequest } from 'fastify';
import { isValidPublicKey } from '../domain/keys.js';
import { isRole, type Role } from '../domain/roles.js';
import { forbidden, unauthorized } from './errors.js';

/**
 * Who is calling, from a verified token. A REC authority's token always names its wallet and
 * name (certificates record who issued them), so its type says so.
 */
export type Principal =
  | { sub: string; role: 'rec_authority'; wallet: string; name: string }
  | { sub: string; role: Exclude<Role, 'rec_authority'>; wallet: string | null; name: string | null };

/** The principal of a token whose role is one of `R`. */
export type PrincipalIn<R extends Role> = Principal & { role: R };

function hasRole<R extends Role>(p: Principal, roles: readonly R[]): p is PrincipalIn<R> {
  return (roles as readonly Role[]).includes(p.role);
}

export interface JwtKeys {
  /** HS256 shared secret, or null when a public key is used */
  secret: string | null;
  /** PEM public key for EdDSA / ES256 tokens signed elsewhere */
  publicKey: string | null;
  issuer: string | null;
  /** required `aud`, when set (JWT_AUDIENCE) */
  audience?: string | null;
  /** longest accepted lifetime, exp − iat (JWT_MAX_TTL_SECONDS; default 30 days) */
  maxTtlSeconds?: number;
}

export const DEFAULT_JWT_MAX_TTL_SECONDS = 30 * 24 * 3600;
/** Clock skew allowed between the issuer and this server for `iat`. */
const IAT_LEEWAY_SECONDS = 60;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

// Scheme is case-insensitive (RFC 7235); the token must be three base64url segments, so an
// unsigned `alg: none` token (empty third segment) is refused before it reaches the verifier.
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;
const MAX_HEADER = 4096;
/** Accepted tokens remembered (the oldest is dropped first). */
const ACCEPTED_TOKENS = 10_000;

/**
 * Bearer-token verification. `exp` and `iat` are mandatory and the algorithm list is pinned to
 * what the key type allows, so a token cannot pick its own algorithm (no `none`, no HS/RS
 * confusion). A token whose lifetime (exp − iat) exceeds `maxTtlSeconds` is refused, and so is one
 * without `iat`, whose lifetime cannot be known, or one issued in the future. There is
 * deliberately no other way in: no impersonation header, no static key.
 */
export function createAuthenticator(keys: JwtKeys) {
  const key = keys.publicKey ?? keys.secret;
  if (!key) throw new Error('JWT verification needs JWT_SECRET or JWT_PUBLIC_KEY');
  const maxTtl = keys.maxTtlSeconds ?? DEFAULT_JWT_MAX_TTL_SECONDS;
  const verify = createVerifier({
    key,
    algorithms: keys.publicKey ? ['EdDSA', 'ES256'] : ['HS256'],
    // fast-jwt checks iss/aud only when present, so a configured issuer or audience is also required
    requiredClaims: ['exp', 'iat', 'sub', 'role', ...(keys.issuer ? ['iss'] : []), ...(keys.audience ? ['aud'] : [])],
    ...(keys.issuer ? { allowedIss: keys.issuer } : {}),
    ...(keys.audience ? { allowedAud: keys.audience } : {}),
    // fast-jwt caches results per token and still honours `exp` for cached entries
    cache: 1000,
  });

  // Tokens already accepted, until their `exp` (fast-jwt's own rule: valid while now <= exp).
  // A client sends the same token on every request; a hit skips fast-jwt (which hashes the token
  // even to find its own cache entry) and the claim checks (a base58 decode of the wallet). Only
  // accepted tokens are kept, and every check in verifyFully depends on the token alone or only
  // gets more permissive with time (iat in the future, nbf), so a hit answers exactly what a full
  // verification would, until exp.
  const accepted = new Map<string, { principal: Principal; expMs: number }>();

  /** The principal a token names, or a 401 saying why not. Also used by `gridmint jwt` to refuse bad tokens. */
  function verifyToken(token: string): Principal {
    const hit = accepted.get(token);
    if (hit && Date.now() <= hit.expMs) return hit.principal;
    if (hit) accepted.delete(token);
    const { principal, exp } = verifyFully(token);
    if (accepted.size >= ACCEPTED_TOKENS) accepted.delete(accepted.keys().next().value as string);
    accepted.set(token, { principal, expMs: exp * 1000 });
    return principal;
  }

  function verifyFully(token: string): { principal: Principal; exp: number } {
    let claims: Record<string, unknown>;
    try {
      claims = verify(token) as Record<string, unknown>;
    } catch (err) {
      const expired = err instanceof TokenError && err.code === TokenError.codes.expired;
      const missing = err instanceof TokenError && err.code === TokenError.codes.missingRequiredClaim;
      throw unauthorized(expired ? 'token has expired' : missing ? err.message.replace(/^The /, 'token: the ') : 'token is invalid');
    }
    const { sub, role, wallet, name, iat, exp } = claims;
    if (typeof iat !== 'number' || typeof exp !== 'number') throw unauthorized('token iat and exp must be numbers');
    if (exp - iat > maxTtl) throw unauthorized(`token lifetime (exp - iat) exceeds ${maxTtl} s (JWT_MAX_TTL_SECONDS)`);
    if (iat > Date.now() / 1000 + IAT_LEEWAY_SECONDS) throw unauthorized('token was issued in the future');
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 128 || !isRole(role)) throw unauthorized('token claims are invalid');
    if (wallet !== undefined && (typeof wallet !== 'string' || !isValidPublicKey(wallet))) throw unauthorized('token wallet claim is not a Solana public key');
    if (name !== undefined && (typeof name !== 'string' || name.length === 0 || name.length > 200)) throw unauthorized('token name claim is invalid');
    // An authority's certificates record who issued them; a token that cannot say is not usable.
    if (role === 'rec_authority') {
      if (wallet === undefined || name === undefined) throw unauthorized('rec_authority tokens must carry wallet and name');
      return { principal: Object.freeze({ sub, role, wallet, name }), exp };
    }
    return { principal: Object.freeze({ sub, role, wallet: wallet ?? null, name: name ?? null }), exp };
  }

  function principalFrom(request: FastifyRequest): Principal {
    const header = request.headers.authorization;
    if (!header) throw unauthorized('missing Authorization: Bearer token');
    const m = header.length <= MAX_HEADER ? BEARER.exec(header) : null;
    if (!m) throw unauthorized('malformed Authorization header; expected "Bearer <JWT>"');
    return verifyToken(m[1]!);
  }

  /** In a handler: the caller of any valid token (401 without one). */
  function identify(request: FastifyRequest): Principal {
    request.principal = principalFrom(request);
    return request.principal;
  }

  /** In a handler: the caller, whose role must be one of `roles` (401 before 403); typed by them. */
  function authorize<R extends Role>(request: FastifyRequest, ...roles: R[]): PrincipalIn<R> {
    const p = identify(request);
    if (!hasRole(p, roles)) throw forbidden(`requires role ${roles.join(' or ')}`);
    return p;
  }

  return {
    verifyToken,
    identify,
    authorize,
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;

export interface TokenClaims {
  sub: string;
  role: Role;
  wallet?: string;
  name?: string;
}

/** Signs an HS256 token (with `iat`) for operators (`gridmint jwt`) and tests. */
export function signToken(secret: string, claims: TokenClaims, ttlSeconds: number, issuer?: string | null, audience?: string | null): string {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError('token ttl must be a positive number of seconds');
  const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: ttlSeconds * 1000, ...(issuer ? { iss: issuer } : {}), ...(audience ? { aud: audience } : {}) });
  return sign({ ...claims });
}
