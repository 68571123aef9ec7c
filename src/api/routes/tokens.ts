import type { FastifyReply } from 'fastify';
import { baseUnitsToKwh } from '../../domain/kwh.js';
import { badRequest, forbidden } from '../../domain/errors.js';
import type { TokenService } from '../../mint/service.js';
import type { RouteModule } from '../app.js';
import { singleFlightCache } from '../../lib/single-flight.js';
import { EXAMPLE, freeText, kwhString, pageQuery, walletString, withErrors } from '../schemas.js';

/**
 * A reading id as status messages and submit responses give it (a decimal string, since ids are
 * bigint), or as a JSON integer; answered as the string either way.
 */
const readingIdInput = {
  anyOf: [{ type: 'string', pattern: '^[1-9][0-9]{0,17}$' }, { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER }],
  examples: ['1042'],
} as const;

/** What both single-mint routes answer: 200 once finalized, 202 while the outbox still settles it. */
const txOutcome = {
  success: { type: 'boolean' },
  status: { type: 'string', enum: ['confirmed', 'pending'] },
  transaction_signature: { type: 'string' },
} as const;

const mintResult = {
  type: 'object',
  required: ['success', 'status', 'transaction_signature', 'tokens_minted', 'reading_id'],
  properties: { ...txOutcome, tokens_minted: { type: 'string', examples: ['1.5'] }, reading_id: { type: 'string', examples: [EXAMPLE.readingId] } },
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
    app.post<{ Body: { reading_id: number | string; wallet_address: string } }>('/api/tokens/mint-from-reading', {
      preHandler: auth.authenticate,
      config: { rateLimit: {} },
      schema: {
        tags: ['tokens'], security: [{ bearer: [] }],
        summary: 'Mint one reading now',
        description:
          "The reading's owner (a token whose wallet is `wallet_address`) or an admin mints one accepted reading through the same outbox as the batch job. " +
          '`reading_id` may be the string the status topic and submit-reading return, or an integer; it is answered as a string. ' +
          '400 `wallet_mismatch` when the wallet is not the reading\'s owner, 404 unknown reading, 409 `already_minted` or `mint_pending` (a batch transaction holds it).',
        body: { type: 'object', additionalProperties: false, required: ['reading_id', 'wallet_address'], properties: { reading_id: readingIdInput, wallet_address: walletString } },
        response: withErrors({
          200: { ...mintResult, description: 'Minted: the transaction finalized' },
          202: { ...mintResult, description: 'Recorded and sent; the transaction is still settling (the outbox finishes it)' },
        }, 400, 401, 403, 404, 409, 429, 503),
      },
    }, async (req, reply) => {
      const p = req.principal!;
      // Only the reading's owner (whose token names that wallet) or an admin; the service checks
      // that the wallet really is the reading's.
      if (p.role !== 'admin' && p.wallet !== req.body.wallet_address) throw forbidden('you may only mint readings for your own wallet');
      const readingId = String(req.body.reading_id);
      const r = await tokens.mintReading(readingId, req.body.wallet_address);
      return sendOutcome(reply, r, { tokens_minted: baseUnitsToKwh(r.baseUnits), reading_id: readingId });
    });

    app.post<{ Body: { wallet_address: string; amount: string; reason: string } }>('/api/admin/tokens/mint', {
      preHandler: auth.requireRole('admin'),
      config: { rateLimit: {} },
      schema: {
        tags: ['tokens'], security: [{ bearer: [] }],
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', description: 'required: the same key and body return the first mint' } } },
        summary: 'Operator mint (admin)',
        description: 'Mints `amount` tokens (decimal kWh, ≤ 9 fractional digits) to a wallet outside the reading flow, recorded with its reason and the admin who asked; included in the supply audit.',
        body: {
          type: 'object', additionalProperties: false, required: ['wallet_address', 'amount', 'reason'],
          properties: { wallet_address: walletString, amount: kwhString, reason: freeText(500) },
          examples: [{ wallet_address: EXAMPLE.wallet, amount: '25', reason: 'meter-001 outage 2026-11-02: estimated production, ticket OPS-1187' }],
        },
        response: withErrors({
          200: { ...operatorResult, description: 'Minted: the transaction finalized' },
          202: { ...operatorResult, description: 'Recorded and sent; the transaction is still settling' },
        }, 400, 401, 403, 422, 429, 503),
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
      schema: {
        tags: ['tokens'], security: [{ bearer: [] }],
        summary: 'Run one mint batch now (admin)',
        description: 'The scheduled batch job on demand: reconcile open outbox rows, then mint every unminted reading per wallet. Waits for the run; another instance holding the minter lock makes this run `skipped`.',
        response: withErrors({ 200: { ...runResult, description: 'The run finished; `result` and the counts say what it did' } }, 401, 403, 429),
      },
    }, async () => tokens.runBatch('api'));

    app.get<{ Params: { wallet: string } }>('/api/tokens/balance/:wallet', {
      preHandler: auth.authenticate,
      schema: {
        tags: ['tokens'], security: [{ bearer: [] }],
        summary: 'Token balance of a wallet, read from the chain',
        description: 'Any valid token. 0 only when the token account does not exist; 400 for an invalid public key; 503 `chain_unavailable` when the RPC cannot be reached — never a false 0.',
        params: { type: 'object', required: ['wallet'], properties: { wallet: { type: 'string', maxLength: 64, examples: [EXAMPLE.wallet] } } },
        response: withErrors({
          200: {
            type: 'object', required: ['wallet_address', 'balance_tokens', 'balance_kwh', 'last_updated', 'as_of', 'age_ms'],
            description: 'The balance (1 token = 1 kWh)',
            properties: {
              wallet_address: { type: 'string', examples: [EXAMPLE.wallet] }, balance_tokens: { type: 'string', examples: ['12.5'] },
              balance_kwh: { type: 'string', examples: ['12.5'] }, last_updated: { type: 'string', format: 'date-time', examples: [EXAMPLE.timestamp] },
              // when the value was read from the chain, and how long ago (it may come from a short-lived cache)
              as_of: { type: 'string', format: 'date-time', examples: [EXAMPLE.timestamp] }, age_ms: { type: 'integer', minimum: 0, examples: [420] },
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
        summary: 'The energy token: mint, decimals, supply',
        description: 'Public. The SPL mint this gateway mints to, its decimals (9), current supply from the chain, mint authority and cluster name.',
        response: withErrors({
          200: {
            type: 'object',
            description: 'The mint as the chain reports it',
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
        summary: 'Unminted readings (admin)',
        description: 'Accepted readings not yet minted, in arrival order (by id), with the outbox transaction holding each one if any; paginated (`limit` ≤ 100).',
        response: withErrors({
          200: {
            type: 'object',
            description: 'One page, with the total count',
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
