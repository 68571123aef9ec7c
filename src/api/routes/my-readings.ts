import { listReadingsJsonOfOwner } from '../../store/meters.js';
import type { Pool } from '../../store/pool.js';
import type { RouteModule } from '../app.js';
import { EXAMPLE, pageOf, pageQuery, withErrors } from '../schemas.js';
import { walletOf } from './erc-views.js';

const readingProps = {
  id: { type: 'string', examples: [EXAMPLE.readingId] },
  meter_id: { type: 'string', examples: [EXAMPLE.meterId] },
  kwh_amount: { type: 'string', examples: [EXAMPLE.kwh] },
  timestamp: { type: 'string', format: 'date-time', examples: [EXAMPLE.timestamp] },
  minted: { type: 'boolean' },
  mint_tx_signature: { type: ['string', 'null'], examples: [EXAMPLE.signature] },
  certificate_id: { type: ['string', 'null'], examples: [EXAMPLE.certificateId] },
  received_at: { type: 'string', format: 'date-time', examples: ['2026-11-25T12:15:00.412Z'] },
} as const;
const readingBody = { type: 'object', required: Object.keys(readingProps), properties: readingProps } as const;

/** The caller's readings: those of meters whose owner wallet is the token's wallet, newest first. */
export function myReadingsRoutes(deps: { pool: Pool }): RouteModule {
  return (app, auth) => {
    app.get<{ Querystring: { limit: number; offset: number } }>(
      '/api/meters/my-readings',
      {
        preHandler: auth.authenticate,
        schema: {
          tags: ['meters'],
          security: [{ bearer: [] }],
          summary: "Readings of the caller's meters",
          description: 'Accepted readings of the meters whose owner is the wallet in the token, newest first, with their mint and certificate state; paginated. 403 `no_wallet` for a token without a wallet.',
          querystring: pageQuery,
          response: withErrors({ 200: { ...pageOf('readings', readingBody), description: 'One page of readings' } }, 400, 401, 403),
        },
      },
      async (request, reply) => {
        const { limit, offset } = request.query;
        const items = await listReadingsJsonOfOwner(deps.pool, walletOf(request.principal!), limit, offset);
        // Already JSON from Postgres (same shape as the schema above); a string is sent as is.
        return reply.type('application/json').send(`{"readings":${items},"page":{"limit":${limit},"offset":${offset}}}`);
      },
    );
  };
}
