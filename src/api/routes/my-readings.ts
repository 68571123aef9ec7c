import { baseUnitsToKwh, numericToBaseUnits } from '../../domain/kwh.js';
import { listReadingsOfOwner } from '../../store/meters.js';
import type { Pool } from '../../store/pool.js';
import type { RouteModule } from '../app.js';
import { pageOf, pageQuery, withErrors } from '../schemas.js';
import { walletOf } from './erc-views.js';

const readingProps = {
  id: { type: 'string' },
  meter_id: { type: 'string' },
  kwh_amount: { type: 'string' },
  timestamp: { type: 'string' },
  minted: { type: 'boolean' },
  mint_tx_signature: { type: ['string', 'null'] },
  certificate_id: { type: ['string', 'null'] },
  received_at: { type: 'string' },
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
          querystring: pageQuery,
          response: withErrors({ 200: pageOf('readings', readingBody) }, 400, 401, 403),
        },
      },
      async (request) => {
        const { limit, offset } = request.query;
        const rows = await listReadingsOfOwner(deps.pool, walletOf(request.principal!), limit, offset);
        return {
          readings: rows.map((x) => ({
            ...x,
            kwh_amount: baseUnitsToKwh(numericToBaseUnits(x.kwh_amount)),
            timestamp: x.timestamp.toISOString(),
            received_at: x.received_at.toISOString(),
          })),
          page: { limit, offset },
        };
      },
    );
  };
}
