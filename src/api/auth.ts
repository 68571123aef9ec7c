import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import type { FastifyRequest } from 'fastify';
import { forbidden, unauthorized } from '../domain/errors.js';

export const ROLES = ['user', 'rec_authority', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, from a verified token. */
export interface Principal {
  sub: string;
  role: Role;
  wallet: string | null;
  name: string | null;
}

export interface JwtKeys {
  /** HS256 shared secret, or null when a public key is used */
  secret: string | null;
  /** PEM public key for EdDSA / ES256 tokens signed elsewhere */
  publicKey: string | null;
  issuer: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/**
 * Bearer-token verification. `exp` is mandatory and the algorithm list is pinned to what the key
 * type allows, so a token cannot pick its own algorithm (no `none`, no HS/RS confusion).
 */
export function createAuthenticator(keys: JwtKeys) {
  const key = keys.publicKey ?? keys.secret;
  if (!key) throw new Error('JWT verification needs JWT_SECRET or JWT_PUBLIC_KEY');
  const verify = createVerifier({
    key,
    algorithms: keys.publicKey ? ['EdDSA', 'ES256'] : ['HS256'],
    requiredClaims: ['exp', 'sub', 'role'],
    ...(keys.issuer ? { allowedIss: keys.issuer } : {}),
    cache: 1000,
  });

  function principalFrom(request: FastifyRequest): Principal {
    const header = request.headers.authorization;
    if (!header) throw unauthorized('missing Authorization: Bearer token');
    const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header);
    if (!m) throw unauthorized('malformed Authorization header; expected "Bearer <JWT>"');
    let claims: Record<string, unknown>;
    try {
      claims = verify(m[1]!) as Record<string, unknown>;
    } catch (err) {
      const expired = err instanceof TokenError && err.code === TokenError.codes.expired;
      throw unauthorized(expired ? 'token has expired' : 'token is invalid');
    }
    const role = claims.role as Role;
    if (typeof claims.sub !== 'string' || !ROLES.includes(role)) throw unauthorized('token claims are invalid');
    return {
      sub: claims.sub,
      role,
      wallet: typeof claims.wallet === 'string' ? claims.wallet : null,
      name: typeof claims.name === 'string' ? claims.name : null,
    };
  }

  return {
    /** preHandler: any valid token */
    authenticate: async (request: FastifyRequest) => {
      request.principal = principalFrom(request);
    },
    /** preHandler: a valid token whose role is one of `roles` */
    requireRole:
      (...roles: Role[]) =>
      async (request: FastifyRequest) => {
        request.principal = principalFrom(request);
        if (!roles.includes(request.principal.role)) throw forbidden(`requires role ${roles.join(' or ')}`);
      },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;

export interface TokenClaims {
  sub: string;
  role: Role;
  wallet?: string;
  name?: string;
}

/** Signs an HS256 token for operators (`gridmint jwt`) and tests. */
export function signToken(secret: string, claims: TokenClaims, ttlSeconds: number, issuer?: string | null): string {
  const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: ttlSeconds * 1000, ...(issuer ? { iss: issuer } : {}) });
  return sign({ ...claims });
}
