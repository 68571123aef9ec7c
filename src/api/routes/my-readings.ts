import { baseUnitsToKwh, numericToBaseUnits } from '../../domain/kwh.js';
import type { Pool } from '../../store/pool.js';
import type { RouteModule } from '../app.js';
import { pageInfo, pageQuery, withErrors } from '../schemas.js';
import { walletOf } from './erc-views.js';

interface ReadingRow {
  id: string;
  meter_id: string;
  kwh_amount: string;
  timestamp: Date;
  minted: boolean;
  mint_tx_signature: string | null;
  certificate_id: string | null;
  received_at: Date;
}

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
          response: withErrors(
            {
              200: {
                type: 'object',
                required: ['readings', 'page'],
                properties: { readings: { type: 'array', items: { type: 'object', required: Object.keys(readingProps), properties: readingProps } }, page: pageInfo },
              },
            },
            400, 401, 403,
          ),
        },
      },
      async (request) => {
        const { limit, offset } = request.query;
        const r = await deps.pool.query<ReadingRow>(
          `SELECT r.id, r.meter_id, r.kwh_amount::text AS kwh_amount, r."timestamp", r.minted, r.mint_tx_signature,
                  r.certificate_id, r.received_at
             FROM meter_readings r JOIN meters m ON m.id = r.meter_id
            WHERE m.owner_wallet = $1
            ORDER BY r."timestamp" DESC, r.id DESC LIMIT $2 OFFSET $3`,
          [walletOf(request.principal!), limit, offset],
        );
        return {
          readings: r.rows.map((x) => ({
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
