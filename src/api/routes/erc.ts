import { AppError, badRequest, conflict, notFound } from '../../domain/errors.js';
import { metadataProblem } from '../../domain/erc.js';
import type { ErcService } from '../../erc/service.js';
import type { Pool } from '../../store/pool.js';
import {
  getCertificateWithTransfers, listCertificatesJsonByOwner, listTransfers, retireCertificate, transferCertificate, type OwnershipResult,
} from '../../store/certificates.js';
import type { Principal } from '../auth.js';
import type { RouteModule } from '../app.js';
import { certificateIdString, freeText, meterIdString, pageOf, pageQuery, timestampString, walletString, withErrors } from '../schemas.js';
import { canView, certificateDetail, certificateSummary, detailView, walletOf } from './erc-views.js';

const idParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: certificateIdString } } as const;

/** Flat metadata of scalars; the total size is checked again in the handler (4 KiB). */
const metadataSchema = {
  type: 'object',
  maxProperties: 32,
  propertyNames: { pattern: '^[A-Za-z0-9_.:-]{1,64}$' },
  additionalProperties: { type: ['string', 'number', 'boolean', 'null'], maxLength: 1024, pattern: '^[^\\u0000]*$' },
} as const;

const issueBody = {
  type: 'object',
  additionalProperties: false,
  required: ['meter_id', 'period_start', 'period_end'],
  properties: { meter_id: meterIdString, period_start: timestampString, period_end: timestampString, metadata: metadataSchema },
} as const;

const verification = {
  type: 'object',
  required: ['certificate_id', 'result', 'computed_hash', 'anchored_hash', 'blockchain_tx_signature', 'checks', 'detail'],
  properties: {
    certificate_id: { type: 'string' },
    result: { type: 'string', enum: ['match', 'mismatch', 'pending'] },
    computed_hash: { type: 'string' },
    anchored_hash: { type: ['string', 'null'] },
    blockchain_tx_signature: { type: ['string', 'null'] },
    checks: {
      type: 'object',
      properties: { content_matches_anchor: { type: ['boolean', 'null'] }, backing_readings_match: { type: 'boolean' } },
    },
    detail: { type: 'string' },
  },
} as const;

/** Turns a refused transfer/retire into the error the caller may see (404 unless they may view it). */
function ownershipError(p: Principal, r: Extract<OwnershipResult, { ok: false }>, id: string, action: string): AppError {
  if (r.reason === 'not_found' || (r.current && !canView(p, r.current))) return notFound(`certificate ${id}`);
  if (r.reason === 'not_owner') return new AppError(403, 'not_owner', `only the current owner may ${action} this certificate`);
  if (r.reason === 'retired') return conflict('certificate_retired', 'the certificate is retired; retirement is final');
  return badRequest('same_owner', 'the certificate already belongs to that wallet');
}

/**
 * A former owner (the certificate was issued to them, or they transferred it away) learns that it
 * moved on, instead of a 404 for a certificate they know exists.
 */
async function refusal(pool: Pool, p: Principal, r: Extract<OwnershipResult, { ok: false }>, id: string, action: string): Promise<AppError> {
  if (r.reason === 'not_owner' && r.current && p.wallet && !canView(p, r.current)) {
    const wallet = p.wallet;
    const former = r.current.issued_to_wallet === wallet || (await listTransfers(pool, id)).some((t) => t.from_wallet === wallet);
    if (former) return new AppError(403, 'not_owner', `certificate ${id} was transferred to another wallet; only its current owner may ${action} it`);
  }
  return ownershipError(p, r, id, action);
}

/** ERC certificates: issue (REC authorities), list, view, transfer, retire, and public verify. */
export function ercRoutes(deps: { pool: Pool; service: ErcService; publicRateLimit?: number }): RouteModule {
  return (app, auth) => {
    const security = [{ bearer: [] }];

    app.post<{ Body: { meter_id: string; period_start: string; period_end: string; metadata?: Record<string, unknown> } }>(
      '/api/erc/issue',
      {
        preHandler: auth.requireRole('rec_authority'),
        config: { rateLimit: {} },
        schema: {
          tags: ['erc'],
          security,
          summary: 'Issue a certificate (REC authority)',
          description:
            "A rec_authority token (with wallet and name) certifies a meter's accepted readings with timestamps in [period_start, period_end) that no certificate covers yet. " +
            'The server computes `kwh_amount` (the exact sum); the certificate goes to the meter owner and is anchored on chain in the background. ' +
            '404 unknown meter; 409 `period_overlaps_certified` or `no_readings`; 400 `invalid_metadata`.',
          body: issueBody,
          response: withErrors({ 201: { ...certificateDetail, description: 'Issued; `blockchain_tx_signature` stays null until the anchor lands' } }, 400, 401, 403, 404, 409, 429),
        },
      },
      async (request, reply) => {
        const p = request.principal!;
        const metadata = request.body.metadata ?? {};
        const problem = metadataProblem(metadata);
        if (problem) throw badRequest('invalid_metadata', problem);
        const row = await deps.service.issue({
          meterId: request.body.meter_id,
          periodStart: request.body.period_start,
          periodEnd: request.body.period_end,
          metadata,
          issuer: { userId: p.sub, wallet: p.wallet!, name: p.name! },
        });
        return reply.code(201).send(detailView(row, []));
      },
    );

    app.get<{ Querystring: { limit: number; offset: number } }>(
      '/api/erc/my-certificates',
      {
        preHandler: auth.authenticate,
        schema: {
          tags: ['erc'],
          security,
          summary: "The caller's certificates",
          description: 'Certificates owned by the wallet in the token, newest first; `limit` ≤ 100. 403 `no_wallet` for a token without a wallet.',
          querystring: pageQuery,
          response: withErrors({ 200: { ...pageOf('certificates', certificateSummary), description: 'One page of certificates' } }, 400, 401, 403),
        },
      },
      async (request, reply) => {
        const { limit, offset } = request.query;
        const items = await listCertificatesJsonByOwner(deps.pool, walletOf(request.principal!), limit, offset);
        // Already JSON from Postgres (same shape as the schema above); a string is sent as is.
        return reply.type('application/json').send(`{"certificates":${items},"page":{"limit":${limit},"offset":${offset}}}`);
      },
    );

    app.get<{ Params: { id: string } }>(
      '/api/erc/:id',
      {
        preHandler: auth.authenticate,
        schema: {
          tags: ['erc'],
          security,
          summary: 'One certificate, with its readings and transfers',
          description: 'For its current owner, its issuing authority and admins; anyone else gets 404, as if it did not exist.',
          params: idParams,
          response: withErrors({ 200: { ...certificateDetail, description: 'The certificate' } }, 400, 401, 404),
        },
      },
      async (request) => {
        const found = await getCertificateWithTransfers(deps.pool, request.params.id);
        if (!found || !canView(request.principal!, found.row)) throw notFound(`certificate ${request.params.id}`);
        return detailView(found.row, found.transfers);
      },
    );

    app.get<{ Params: { id: string } }>(
      '/api/erc/:id/verify',
      // Public and it reads the chain: limited per client (default: the write limit); the service
      // caches the chain lookup (single flight).
      {
        config: { rateLimit: deps.publicRateLimit ? { max: deps.publicRateLimit, timeWindow: 60_000 } : {} },
        schema: {
          tags: ['erc'],
          summary: 'Verify a certificate against its on-chain anchor (public)',
          description:
            'Recomputes the SHA-256 of the canonical certificate content and compares it with the SPL Memo on chain: `match`, `mismatch` (the row or a backing reading changed), or `pending` (not anchored yet).',
          params: idParams,
          response: withErrors({ 200: { ...verification, description: 'The verdict and what was compared' } }, 400, 404, 429, 503),
        },
      },
      async (request) => {
        const v = await deps.service.verify(request.params.id);
        if (!v) throw notFound(`certificate ${request.params.id}`);
        return v;
      },
    );

    app.post<{ Body: { certificate_id: string; to_wallet: string } }>(
      '/api/erc/transfer',
      {
        preHandler: auth.authenticate,
        config: { rateLimit: {} },
        schema: {
          tags: ['erc'],
          security,
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['certificate_id', 'to_wallet'],
            properties: { certificate_id: certificateIdString, to_wallet: walletString },
          },
          summary: 'Transfer a certificate to another wallet',
          description:
            'Only the current owner. 403 `not_owner` for a former owner (it was transferred away), its issuer or an admin; 404 for anyone who cannot see it; ' +
            '409 `certificate_retired`; 400 `same_owner`.',
          response: withErrors({ 200: { ...certificateDetail, description: 'Transferred; `transfers` has the new entry' } }, 400, 401, 403, 404, 409, 429),
        },
      },
      async (request) => {
        const p = request.principal!;
        const { certificate_id: id, to_wallet: toWallet } = request.body;
        const r = await transferCertificate(deps.pool, { id, callerWallet: walletOf(p), callerSub: p.sub, toWallet });
        if (!r.ok) throw await refusal(deps.pool, p, r, id, 'transfer');
        return detailView(r.certificate, await listTransfers(deps.pool, id));
      },
    );

    app.post<{ Params: { id: string }; Body: { beneficiary: string; purpose?: string } }>(
      '/api/erc/:id/retire',
      {
        preHandler: auth.authenticate,
        config: { rateLimit: {} },
        schema: {
          tags: ['erc'],
          security,
          params: idParams,
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['beneficiary'],
            properties: { beneficiary: freeText(200), purpose: freeText(500) },
            examples: [{ beneficiary: 'Town of Springfield', purpose: 'Scope 2 claim 2026' }],
          },
          summary: 'Retire a certificate for a beneficiary (final)',
          description:
            'Only the current owner. 403 `not_owner` for a former owner (it was transferred away), its issuer or an admin; 404 for anyone who cannot see it; ' +
            '409 `certificate_retired` once retired.',
          response: withErrors({ 200: { ...certificateDetail, description: 'Retired; `retirement` holds the claim' } }, 400, 401, 403, 404, 409, 429),
        },
      },
      async (request) => {
        const p = request.principal!;
        const id = request.params.id;
        const r = await retireCertificate(deps.pool, { id, callerWallet: walletOf(p), beneficiary: request.body.beneficiary, purpose: request.body.purpose ?? null });
        if (!r.ok) throw await refusal(deps.pool, p, r, id, 'retire');
        return detailView(r.certificate, await listTransfers(deps.pool, id));
      },
    );
  };
}
