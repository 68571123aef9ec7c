import type { FastifyReply } from 'fastify';
import { baseUnitsToKwh } from '../../domain/kwh.js';
import { badRequest, forbidden } from '../../domain/errors.js';
import type { TokenService } from '../../mint/service.js';
import type { RouteModule } from '../app.js';
import { singleFlightCache } from '../../lib/single-flight.js';
import { freeText, kwhString, pageQuery, walletString, withErrors } from '../schemas.js';

/** What both single-mint routes answer: 200 once finalized, 202 while the outbox still settles it. */
const txOutcome = {
  success: { type: 'boolean' },
  status: { type: 'string', enum: ['confirmed', 'pending'] },
  transaction_signature: { type: 'string' },
} as const;

const mintResult = {
  type: 'object',
  required: ['success', 'status', 'transaction_signature', 'tokens_minted', 'reading_id'],
  properties: { ...txOutcome, tokens_minted: { type: 'string' }, reading_id: { type: 'integer' } },
} as const;

const operatorResult = {
  type: 'object',
  required: ['success', 'status', 'transaction_signature', 'operator_mint_id', 'wallet_address', 'amount', 'reason'],
  properties: {
    ...txOutcome,
    operator_mint_id: { type: 'string' },
    wallet_address: { type: 'string' },
    amount: { type: 'string' },
    reason: { type: 'string' },
  },
} as const;

function sendOutcome(reply: FastifyReply, r: { status: 'confirmed' | 'pending'; signature: string }, body: Record<string, unknown>) {
  return reply.code(r.status === 'confirmed' ? 200 : 202).send({ success: r.status === 'confirmed', status: r.status, transaction_signature: r.signature, ...body });
}

const runResult = {
  type: 'object',
  properties: Object.fromEntries(
    ['result', 'minted_kwh', 'error'].map((k) => [k, { type: 'string' }]).concat(
      ['readings', 'wallets', 'transactions', 'confirmed', 'expired', 'failed', 'unresolved', 'reconciled', 'duration_ms'].map((k) => [k, { type: 'integer' }]),
    ),
  ),
} as const;

const unmintedRow = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    meter_id: { type: 'string' },
    wallet_address: { type: 'string' },
    kwh_amount: { type: 'string' },
    timestamp: { type: 'string', format: 'date-time' },
    received_at: { type: 'string', format: 'date-time' },
    pending_outbox_id: { type: ['string', 'null'] },
    pending_signature: { type: ['string', 'null'] },
  },
} as const;

/** Visible ASCII, as in the IETF Idempotency-Key draft's examples (UUIDs, ULIDs, random strings). */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

function idempotencyKey(header: string | string[] | undefined): string {
  if (header === undefined) throw badRequest('idempotency_key_required', 'send an Idempotency-Key header (e.g. a UUID) so a retried mint cannot mint twice');
  if (typeof header !== 'string' || !IDEMPOTENCY_KEY.test(header)) throw badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1..200 visible ASCII characters');
  return header;
}

/** How long public endpoints that reach the chain reuse one answer. */
export const PUBLIC_CHAIN_CACHE_MS = 2_000;

/**
 * Amounts in responses are decimal strings: tokens and kWh are the same number (1 kWh = 1 token).
 * `publicRateLimit`: requests per minute per client on the public /api/tokens/info (default: the
 * write limit).
 */
export function tokenRoutes(tokens: TokenService, opts: { publicRateLimit?: number } = {}): RouteModule {
  return (app, auth) => {
    const info = singleFlightCache(PUBLIC_CHAIN_CACHE_MS, () => tokens.info());
    // A mint through this gateway changes the supply: the next info call reads it afresh.
    const minting = new Set(['/api/tokens/mint-from-reading', '/api/admin/tokens/mint', '/api/admin/tokens/mint-run']);
    // (onSend: before the caller has the answer, so its next request sees the new supply.)
    app.addHook('onSend', async (request, _reply, payload) => {
      if (request.method === 'POST' && minting.has(request.routeOptions.url ?? '')) info.clear();
      return payload;
    });
    app.post<{ Body: { reading_id: number; wallet_address: string } }>('/api/tokens/mint-from-reading', {
      preHandler: auth.authenticate,
      config: { rateLimit: {} },
      schema: {
        tags: ['tokens'], security: [{ bearer: [] }],
        body: { type: 'object', additionalProperties: false, required: ['reading_id', 'wallet_address'], properties: { reading_id: { type: 'integer', minimum: 1 }, wallet_address: walletString } },
        response: withErrors({ 200: mintResult, 202: mintResult }, 400, 401, 403, 404, 409, 429, 503),
      },
    }, async (req, reply) => {
      const p = req.principal!;
      // Only the reading's owner (whose token names that wallet) or an admin; the service checks
      // that the wallet really is the reading's.
      if (p.role !== 'admin' && p.wallet !== req.body.wallet_address) throw forbidden('you may only mint readings for your own wallet');
      const r = await tokens.mintReading(String(req.body.reading_id), req.body.wallet_address);
      return sendOutcome(reply, r, { tokens_minted: baseUnitsToKwh(r.baseUnits), reading_id: req.body.reading_id });
    });

    app.post<{ Body: { wallet_address: string; amount: string; reason: string } }>('/api/admin/tokens/mint', {
      preHandler: auth.requireRole('admin'),
      config: { rateLimit: {} },
      schema: {
        tags: ['tokens'], security: [{ bearer: [] }],
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', description: 'required: the same key and body return the first mint' } } },
        body: {
          type: 'object', additionalProperties: false, required: ['wallet_address', 'amount', 'reason'],
          properties: { wallet_address: walletString, amount: kwhString, reason: freeText(500) },
        },
        response: withErrors({ 200: operatorResult, 202: operatorResult }, 400, 401, 403, 422, 429, 503),
      },
    }, async (req, reply) => {
      const b = req.body;
      const key = idempotencyKey(req.headers['idempotency-key']);
      const r = await tokens.operatorMint({ wallet: b.wallet_address, amountKwh: b.amount, reason: b.reason, requestedBy: req.principal!.sub, idempotencyKey: key });
      if (r.replayed) void reply.header('idempotent-replayed', 'true');
      return sendOutcome(reply, r, { operator_mint_id: r.operatorMintId, wallet_address: b.wallet_address, amount: baseUnitsToKwh(r.baseUnits), reason: b.reason });
    });

    app.post('/api/admin/tokens/mint-run', {
      preHandler: auth.requireRole('admin'),
      config: { rateLimit: {} },
      schema: { tags: ['tokens'], security: [{ bearer: [] }], response: withErrors({ 200: runResult }, 401, 403, 429) },
    }, async () => tokens.runBatch('api'));

    app.get<{ Params: { wallet: string } }>('/api/tokens/balance/:wallet', {
      preHandler: auth.authenticate,
      schema: {
        tags: ['tokens'], security: [{ bearer: [] }],
        params: { type: 'object', required: ['wallet'], properties: { wallet: { type: 'string', maxLength: 64 } } },
        response: withErrors({
          200: {
            type: 'object', required: ['wallet_address', 'balance_tokens', 'balance_kwh', 'last_updated', 'as_of', 'age_ms'],
            properties: {
              wallet_address: { type: 'string' }, balance_tokens: { type: 'string' }, balance_kwh: { type: 'string' },
              last_updated: { type: 'string', format: 'date-time' },
              // when the value was read from the chain, and how long ago (it may come from a short-lived cache)
              as_of: { type: 'string', format: 'date-time' }, age_ms: { type: 'integer', minimum: 0 },
            },
          },
        }, 400, 401, 503),
      },
    }, async (req, reply) => {
      const b = await tokens.balance(req.params.wallet);
      const amount = baseUnitsToKwh(b.baseUnits);
      const asOf = b.at.toISOString();
      const ageMs = Math.max(0, Date.now() - b.at.getTime());
      void reply.header('age', String(Math.floor(ageMs / 1000)));
      return { wallet_address: req.params.wallet, balance_tokens: amount, balance_kwh: amount, last_updated: asOf, as_of: asOf, age_ms: ageMs };
    });

    app.get('/api/tokens/info', {
      // Public and it reads the chain: one cached, single-flight answer and a per-client limit, so
      // the public cannot spend the RPC quota the minter needs.
      config: { rateLimit: opts.publicRateLimit ? { max: opts.publicRateLimit, timeWindow: 60_000 } : {} },
      schema: {
        tags: ['tokens'],
        response: withErrors({
          200: {
            type: 'object',
            properties: {
              mint_address: { type: 'string' }, decimals: { type: 'integer' }, supply_tokens: { type: 'string' },
              supply_base_units: { type: 'string' }, mint_authority: { type: ['string', 'null'] }, cluster: { type: 'string' },
            },
          },
        }, 429, 503),
      },
    }, async () => {
      const i = await info('info');
      return {
        mint_address: i.mint, decimals: i.decimals, supply_tokens: baseUnitsToKwh(i.supply), supply_base_units: i.supply.toString(),
        mint_authority: i.mintAuthority, cluster: i.cluster,
      };
    });

    app.get<{ Querystring: { limit: number; offset: number } }>('/api/admin/meters/unminted', {
      preHandler: auth.requireRole('admin'),
      schema: {
        tags: ['tokens'], security: [{ bearer: [] }], querystring: pageQuery,
        response: withErrors({
          200: {
            type: 'object',
            properties: { readings: { type: 'array', items: unmintedRow }, total: { type: 'integer' }, limit: { type: 'integer' }, offset: { type: 'integer' } },
          },
        }, 400, 401, 403),
      },
    }, async (req) => {
      const { rows, total } = await tokens.unminted(req.query.limit, req.query.offset);
      return {
        readings: rows.map((r) => ({ ...r, timestamp: r.timestamp.toISOString(), received_at: r.received_at.toISOString(), pending_outbox_id: r.mint_outbox_id })),
        total, limit: req.query.limit, offset: req.query.offset,
      };
    });
  };
}
