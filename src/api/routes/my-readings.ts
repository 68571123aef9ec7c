import { listReadingsJsonOfOwner } from '../../store/meters.js';
import { Type } from 'typebox';
import type { RouteModule } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { EXAMPLE, nullable, pageOf, pageQuery, withErrors } from '../schemas.js';
import { walletOf } from './erc-views.js';

const readingBody = Type.Object({
  id: Type.String({ examples: [EXAMPLE.readingId] }),
  meter_id: Type.String({ examples: [EXAMPLE.meterId] }),
  kwh_amount: Type.String({ examples: [EXAMPLE.kwh] }),
  timestamp: Type.String({ format: 'date-time', examples: [EXAMPLE.timestamp] }),
  minted: Type.Boolean(),
  mint_tx_signature: nullable(Type.String({ examples: [EXAMPLE.signature] })),
  certificate_id: nullable(Type.String({ examples: [EXAMPLE.certificateId] })),
  received_at: Type.String({ format: 'date-time', examples: ['2026-11-25T12:15:00.412Z'] }),
});

/** The caller's readings: those of meters whose owner wallet is the token's wallet, newest first. */
export function myReadingsRoutes(deps: Pick<ApiDeps, 'pool'>): RouteModule {
  return (app, auth) => {
    app.get(
      '/api/meters/my-readings',
      {
        schema: {
          tags: ['meters'],
          security: [{ bearer: [] }],
          summary: "Readings of the caller's meters",
          description: 'Accepted readings of the meters whose owner is the wallet in the token, newest first, with their mint and certificate state; paginated. 403 `no_wallet` for a token without a wallet.',
          querystring: pageQuery,
          response: withErrors({ 200: pageOf('readings', readingBody, { description: 'One page of readings' }) }, 400, 401, 403),
        },
      },
      async (request, reply) => {
        const { limit, offset } = request.query;
        const items = await listReadingsJsonOfOwner(deps.pool, walletOf(auth.identify(request)), limit, offset);
        // Already JSON from Postgres (same shape as the schema above); a string is sent as is (hence
        // `as never`: the schema types the parsed shape, this is its text).
        return reply.type('application/json').send(`{"readings":${items},"page":{"limit":${limit},"offset":${offset}}}` as never);
      },
    );
  };
}
