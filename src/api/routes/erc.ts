import { Type } from 'typebox';
import { metadataProblem } from '../../domain/erc.js';
import { notFound } from '../../domain/errors.js';
import type { RouteModule } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import {
  certificateIdString, freeText, meterIdString, nullable, pageOf, pageQuery, stringEnum, timestampString, walletString, withErrors,
} from '../schemas.js';
import { certificateDetail, certificateSummary, detailView, walletOf } from './erc-views.js';

const idParams = Type.Object({ id: certificateIdString }, { additionalProperties: false });

/** Flat metadata of scalars; the total size is checked again in the handler (4 KiB). */
const metadataSchema = Type.Unsafe<Record<string, string | number | boolean | null>>({
  type: 'object',
  maxProperties: 32,
  propertyNames: { pattern: '^[A-Za-z0-9_.:-]{1,64}$' },
  additionalProperties: { type: ['string', 'number', 'boolean', 'null'], maxLength: 1024, pattern: '^[^\\u0000]*$' },
});

const issueBody = Type.Object(
  { meter_id: meterIdString, period_start: timestampString, period_end: timestampString, metadata: Type.Optional(metadataSchema) },
  { additionalProperties: false },
);

const verification = Type.Object({
  certificate_id: Type.String(),
  result: stringEnum(['match', 'mismatch', 'pending']),
  computed_hash: Type.String(),
  anchored_hash: nullable(Type.String()),
  blockchain_tx_signature: nullable(Type.String()),
  checks: Type.Object({
    content_matches_anchor: Type.Optional(nullable(Type.Boolean())),
    backing_readings_match: Type.Optional(Type.Boolean()),
  }),
  detail: Type.String(),
});

/**
 * ERC certificates: issue (REC authorities), list, view, transfer, retire, and public verify.
 * Every read and write goes through the certificate service (`erc/service.ts`).
 */
export function ercRoutes({ erc, limits }: Pick<ApiDeps, 'erc' | 'limits'>): RouteModule {
  return (app, auth) => {
    const security = [{ bearer: [] }];

    app.post(
      '/api/erc/issue',
      {
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
        const p = auth.authorize(request, 'rec_authority');
        const metadata = request.body.metadata ?? {};
        const problem = metadataProblem(metadata);
        if (problem) throw new ApiError('invalid_metadata', problem);
        const row = await erc.issue({
          meterId: request.body.meter_id,
          periodStart: request.body.period_start,
          periodEnd: request.body.period_end,
          metadata,
          issuer: { userId: p.sub, wallet: p.wallet, name: p.name },
        });
        return reply.code(201).send(detailView({ certificate: row, transfers: [] }));
      },
    );

    app.get(
      '/api/erc/my-certificates',
      {
        schema: {
          tags: ['erc'],
          security,
          summary: "The caller's certificates",
          description: 'Certificates owned by the wallet in the token, newest first; `limit` ≤ 100. 403 `no_wallet` for a token without a wallet.',
          querystring: pageQuery,
          response: withErrors({ 200: pageOf('certificates', certificateSummary, { description: 'One page of certificates' }) }, 400, 401, 403),
        },
      },
      async (request, reply) => {
        const { limit, offset } = request.query;
        const items = await erc.listOwnedJson(walletOf(auth.identify(request)), limit, offset);
        // Already JSON from Postgres (same shape as the schema above); a string is sent as is (hence
        // `as never`: the schema types the parsed shape, this is its text).
        return reply.type('application/json').send(`{"certificates":${items},"page":{"limit":${limit},"offset":${offset}}}` as never);
      },
    );

    app.get(
      '/api/erc/:id',
      {
        schema: {
          tags: ['erc'],
          security,
          summary: 'One certificate, with its readings and transfers',
          description: 'For its current owner, its issuing authority and admins; anyone else gets 404, as if it did not exist.',
          params: idParams,
          response: withErrors({ 200: { ...certificateDetail, description: 'The certificate' } }, 400, 401, 404),
        },
      },
      async (request, reply) => {
        const json = await erc.getJson(request.params.id, auth.identify(request));
        // Already the detail view's JSON from Postgres (a string is sent as is; see my-certificates).
        return reply.type('application/json').send(json as never);
      },
    );

    app.get(
      '/api/erc/:id/verify',
      // Public and it reads the chain: limited per client (default: the write limit); the service
      // caches the chain lookup (single flight).
      {
        config: { rateLimit: limits.publicPerMinute ? { max: limits.publicPerMinute, timeWindow: 60_000 } : {} },
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
        const v = await erc.verify(request.params.id);
        if (!v) throw notFound(`certificate ${request.params.id}`);
        return v;
      },
    );

    app.post(
      '/api/erc/transfer',
      {
        config: { rateLimit: {} },
        schema: {
          tags: ['erc'],
          security,
          body: Type.Object({ certificate_id: certificateIdString, to_wallet: walletString }, { additionalProperties: false }),
          summary: 'Transfer a certificate to another wallet',
          description:
            'Only the current owner. 403 `not_owner` for a former owner (it was transferred away), its issuer or an admin; 404 for anyone who cannot see it; ' +
            '409 `certificate_retired`; 400 `same_owner`.',
          response: withErrors({ 200: { ...certificateDetail, description: 'Transferred; `transfers` has the new entry' } }, 400, 401, 403, 404, 409, 429),
        },
      },
      async (request) => {
        const p = auth.identify(request);
        const caller = { ...p, wallet: walletOf(p) };
        return detailView(await erc.transfer({ id: request.body.certificate_id, caller, toWallet: request.body.to_wallet }));
      },
    );

    app.post(
      '/api/erc/:id/retire',
      {
        config: { rateLimit: {} },
        schema: {
          tags: ['erc'],
          security,
          params: idParams,
          body: Type.Object(
            { beneficiary: freeText(200), purpose: Type.Optional(freeText(500)) },
            { additionalProperties: false, examples: [{ beneficiary: 'Town of Springfield', purpose: 'Scope 2 claim 2026' }] },
          ),
          summary: 'Retire a certificate for a beneficiary (final)',
          description:
            'Only the current owner. 403 `not_owner` for a former owner (it was transferred away), its issuer or an admin; 404 for anyone who cannot see it; ' +
            '409 `certificate_retired` once retired.',
          response: withErrors({ 200: { ...certificateDetail, description: 'Retired; `retirement` holds the claim' } }, 400, 401, 403, 404, 409, 429),
        },
      },
      async (request) => {
        const p = auth.identify(request);
        const caller = { ...p, wallet: walletOf(p) };
        const { beneficiary, purpose } = request.body;
        return detailView(await erc.retire({ id: request.params.id, caller, beneficiary, purpose: purpose ?? null }));
      },
    );
  };
}
