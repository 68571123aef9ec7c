import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { baseUnitsToKwh } from '../../domain/kwh.js';
import type { RouteModule } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, forbidden } from '../errors.js';
import { singleFlightCache } from '../../lib/single-flight.js';
import { EXAMPLE, freeText, kwhString, nullable, pageOf, pageQuery, stringEnum, walletString, withErrors } from '../schemas.js';

/**
 * A reading id as status messages and submit responses give it (a decimal string, since ids are
 * bigint), or as a JSON integer; answered as the string either way.
 */
const readingIdInput = Type.Union(
  [Type.String({ pattern: '^[1-9][0-9]{0,17}$' }), Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })],
  { examples: ['1042'] },
);

/** What both single-mint routes answer: 200 once finalized, 202 while the outbox still settles it. */
const txOutcome = {
  success: Type.Boolean(),
  status: stringEnum(['confirmed', 'pending']),
  transaction_signature: Type.String(),
};

const mintResult = Type.Object({
  ...txOutcome,
  tokens_minted: Type.String({ examples: ['1.5'] }),
  reading_id: Type.String({ examples: [EXAMPLE.readingId] }),
});

const operatorResult = Type.Object({
  ...txOutcome,
  operator_mint_id: Type.String(),
  wallet_address: Type.String(),
  amount: Type.String(),
  reason: Type.String(),
});

function sendOutcome(reply: FastifyReply, r: { status: 'confirmed' | 'pending'; signature: string }, body: Record<string, unknown>) {
  return reply.code(r.status === 'confirmed' ? 200 : 202).send({ success: r.status === 'confirmed', status: r.status, transaction_signature: r.signature, ...body });
}

/** What a mint run did (`mint/minter.ts` RunReport); every count is present once the run ends. */
const count = Type.Optional(Type.Integer());
const runResult = Type.Object({
  result: Type.Optional(Type.String()),
  minted_kwh: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
  readings: count,
  wallets: count,
  transactions: count,
  confirmed: count,
  expired: count,
  failed: count,
  unresolved: count,
  reconciled: count,
  skipped_readings: Type.Optional(Type.Integer({ description: 'readings this run could not mint (e.g. an invalid wallet); they stay unminted' })),
  duration_ms: count,
});

const unmintedRow = Type.Object({
  id: Type.Optional(Type.String()),
  meter_id: Type.Optional(Type.String()),
  wallet_address: Type.Optional(Type.String()),
  kwh_amount: Type.Optional(Type.String()),
  timestamp: Type.Optional(Type.String({ format: 'date-time' })),
  received_at: Type.Optional(Type.String({ format: 'date-time' })),
  pending_outbox_id: Type.Optional(nullable(Type.String())),
  pending_signature: Type.Optional(nullable(Type.String())),
});

/** The old top-level paging fields of the unminted list, kept for existing clients. */
const deprecatedPaging = {
  total: Type.Optional(Type.Integer({ deprecated: true, description: 'deprecated: read `page.total`' })),
  limit: Type.Optional(Type.Integer({ deprecated: true, description: 'deprecated: read `page.limit`' })),
  offset: Type.Optional(Type.Integer({ deprecated: true, description: 'deprecated: read `page.offset`' })),
};
const unmintedPage = pageOf('readings', unmintedRow);
const unmintedAnswer = Type.Object({ ...unmintedPage.properties, ...deprecatedPaging }, { description: 'One page, with the total count' });

/** Visible ASCII, as in the IETF Idempotency-Key draft's examples (UUIDs, ULIDs, random strings). */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

function idempotencyKey(header: string | string[] | undefined): string {
  if (header === undefined) throw new ApiError('idempotency_key_required');
  if (typeof header !== 'string' || !IDEMPOTENCY_KEY.test(header)) throw new ApiError('invalid_idempotency_key');
  return header;
}

/** How long public endpoints that reach the chain reuse one answer. */
export const PUBLIC_CHAIN_CACHE_MS = 2_000;

/**
 * Amounts in responses are decimal strings: tokens and kWh are the same number (1 kWh = 1 token).
 * `limits.publicPerMinute`: requests per minute per client on the public /api/tokens/info
 * (default: the write limit).
 */
export function tokenRoutes({ tokens, limits }: Pick<ApiDeps, 'tokens' | 'limits'>): RouteModule {
  return (app, auth) => {
    const info = singleFlightCache(PUBLIC_CHAIN_CACHE_MS, () => tokens.info());
    // A mint through this gateway changes the supply: the next info call reads it afresh.
    const minting = new Set(['/api/tokens/mint-from-reading', '/api/admin/tokens/mint', '/api/admin/tokens/mint-run']);
    // (onSend: before the caller has the answer, so its next request sees the new supply.)
    app.addHook('onSend', async (request, _reply, payload) => {
      if (request.method === 'POST' && minting.has(request.routeOptions.url ?? '')) info.clear();
      return payload;
    });
    app.post('/api/tokens/mint-from-reading', {
      config: { rateLimit: {} },
      schema: {
        tags: ['tokens'], security: [{ bearer: [] }],
        summary: 'Mint one reading now',
        description:
          "The reading's owner (a token whose wallet is `wallet_address`) or an admin mints one accepted reading through the same outbox as the batch job. " +
          '`reading_id` may be the string the status topic and submit-reading return, or an integer; it is answered as a string. ' +
          '400 `wallet_mismatch` when the wallet is not the reading\'s owner, 404 unknown reading, 409 `already_minted` or `mint_pending` (a batch transaction holds it).',
        body: Type.Object({ reading_id: readingIdInput, wallet_address: walletString }, { additionalProperties: false }),
        response: withErrors({
          200: { ...mintResult, description: 'Minted: the transaction finalized' },
          202: { ...mintResult, description: 'Recorded and sent; the transaction is still settling (the outbox finishes it)' },
        }, 400, 401, 403, 404, 409, 429, 503),
      },
    }, async (req, reply) => {
      const p = auth.identify(req);
      // Only the reading's owner (whose token names that wallet) or an admin; the service checks
      // that the wallet really is the reading's.
      if (p.role !== 'admin' && p.wallet !== req.body.wallet_address) throw forbidden('you may only mint readings for your own wallet');
      const readingId = String(req.body.reading_id);
      const r = await tokens.mintReading(readingId, req.body.wallet_address);
      return sendOutcome(reply, r, { tokens_minted: baseUnitsToKwh(r.baseUnits), reading_id: readingId });
    });

    app.post('/api/admin/tokens/mint', {
      config: { rateLimit: {} },
      schema: {
        tags: ['tokens'], security: [{ bearer: [] }],
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ description: 'required: the same key and body return the first mint' })) }),
        summary: 'Operator mint (admin)',
        description: 'Mints `amount` tokens (decimal kWh, ≤ 9 fractional digits) to a wallet outside the reading flow, recorded with its reason and the admin who asked; included in the supply audit.',
        body: Type.Object(
          { wallet_address: walletString, amount: kwhString, reason: freeText(500) },
          { additionalProperties: false, examples: [{ wallet_address: EXAMPLE.wallet, amount: '25', reason: 'meter-001 outage 2026-11-02: estimated production, ticket OPS-1187' }] },
        ),
        response: withErrors({
          200: { ...operatorResult, description: 'Minted: the transaction finalized' },
          202: { ...operatorResult, description: 'Recorded and sent; the transaction is still settling' },
        }, 400, 401, 403, 422, 429, 503),
      },
    }, async (req, reply) => {
      const admin = auth.authorize(req, 'admin');
      const b = req.body;
      const key = idempotencyKey(req.headers['idempotency-key']);
      const r = await tokens.operatorMint({ wallet: b.wallet_address, amountKwh: b.amount, reason: b.reason, requestedBy: admin.sub, idempotencyKey: key });
      if (r.replayed) void reply.header('idempotent-replayed', 'true');
      return sendOutcome(reply, r, { operator_mint_id: r.operatorMintId, wallet_address: b.wallet_address, amount: baseUnitsToKwh(r.baseUnits), reason: b.reason });
    });

    app.post('/api/admin/tokens/mint-run', {
      config: { rateLimit: {} },
      schema: {
        tags: ['tokens'], security: [{ bearer: [] }],
        summary: 'Run one mint batch now (admin)',
        description: 'The scheduled batch job on demand: reconcile open outbox rows, then mint every unminted reading per wallet. Waits for the run; another instance holding the minter lock makes this run `skipped`.',
        response: withErrors({ 200: { ...runResult, description: 'The run finished; `result` and the counts say what it did' } }, 401, 403, 429),
      },
    }, async (req) => {
      auth.authorize(req, 'admin');
      return tokens.runBatch('api');
    });

    app.get('/api/tokens/balance/:wallet', {
      schema: {
        tags: ['tokens'], security: [{ bearer: [] }],
        summary: 'Token balance of a wallet, read from the chain',
        description: 'Any valid token. 0 only when the token account does not exist; 400 for an invalid public key; 503 `chain_unavailable` when the RPC cannot be reached — never a false 0.',
        params: Type.Object({ wallet: Type.String({ maxLength: 64, examples: [EXAMPLE.wallet] }) }),
        response: withErrors({
          200: Type.Object(
            {
              wallet_address: Type.String({ examples: [EXAMPLE.wallet] }), balance_tokens: Type.String({ examples: ['12.5'] }),
              balance_kwh: Type.String({ examples: ['12.5'] }), last_updated: Type.String({ format: 'date-time', examples: [EXAMPLE.timestamp] }),
              // when the value was read from the chain, and how long ago (it may come from a short-lived cache)
              as_of: Type.String({ format: 'date-time', examples: [EXAMPLE.timestamp] }), age_ms: Type.Integer({ minimum: 0, examples: [420] }),
            },
            { description: 'The balance (1 token = 1 kWh)' },
          ),
        }, 400, 401, 503),
      },
    }, async (req, reply) => {
      auth.identify(req);
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
      config: { rateLimit: limits.publicPerMinute ? { max: limits.publicPerMinute, timeWindow: 60_000 } : {} },
      schema: {
        tags: ['tokens'],
        summary: 'The energy token: mint, decimals, supply',
        description: 'Public. The SPL mint this gateway mints to, its decimals (9), current supply from the chain, mint authority and cluster name.',
        response: withErrors({
          200: Type.Object(
            {
              mint_address: Type.Optional(Type.String()), decimals: Type.Optional(Type.Integer()), supply_tokens: Type.Optional(Type.String()),
              supply_base_units: Type.Optional(Type.String()), mint_authority: Type.Optional(nullable(Type.String())), cluster: Type.Optional(Type.String()),
            },
            { description: 'The mint as the chain reports it' },
          ),
        }, 429, 503),
      },
    }, async () => {
      const i = await info('info');
      return {
        mint_address: i.mint, decimals: i.decimals, supply_tokens: baseUnitsToKwh(i.supply), supply_base_units: i.supply.toString(),
        mint_authority: i.mintAuthority, cluster: i.cluster,
      };
    });

    app.get('/api/admin/meters/unminted', {
      schema: {
        tags: ['tokens'], security: [{ bearer: [] }], querystring: pageQuery,
        summary: 'Unminted readings (admin)',
        description:
          'Accepted readings not yet minted, in arrival order (by id), with the outbox transaction holding each one if any; paginated (`limit` ≤ 100), ' +
          'with the total in `page.total`. The top-level `total`, `limit` and `offset` repeat `page` for older clients (deprecated).',
        response: withErrors({ 200: unmintedAnswer }, 400, 401, 403),
      },
    }, async (req) => {
      auth.authorize(req, 'admin');
      const { limit, offset } = req.query;
      const { rows, total } = await tokens.unminted(limit, offset);
      return {
        readings: rows.map((r) => ({ ...r, timestamp: r.timestamp.toISOString(), received_at: r.received_at.toISOString(), pending_outbox_id: r.mint_outbox_id })),
        page: { limit, offset, total },
        total, limit, offset,
      };
    });
  };
}
