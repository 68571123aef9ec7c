import { generatePassword, hashPassword } from '../../domain/credential.js';
import { badRequest, conflict } from '../../domain/errors.js';
import { DEFAULT_MAX_KWH, registrationProblem } from '../../domain/meter.js';
import type { Pool } from '../../store/pool.js';
import { insertMeter, listMeters, meterView as view } from '../../store/meters.js';
import type { MeterProvisioner } from '../../ingest/meter-provisioner.js';
import type { RouteModule } from '../app.js';
import { kwhString, meterIdString, pageOf, pageQuery, walletString, withErrors } from '../schemas.js';

const meterProps = {
  id: { type: 'string' },
  wallet: { type: 'string' },
  pubkey: { type: 'string' },
  status: { type: 'string', enum: ['active', 'suspended'] },
  max_kwh: { type: 'string' },
  created_at: { type: 'string' },
  last_seen_at: { type: ['string', 'null'] },
} as const;
const meterBody = { type: 'object', required: Object.keys(meterProps), properties: meterProps } as const;

/** The meter registry over HTTP for admins: the same rules as `gridmint meter add` / `meter list`. */
export function adminMeterRoutes(deps: { pool: Pool; provisioner?: MeterProvisioner | null }): RouteModule {
  return (app, auth) => {
    const security = [{ bearer: [] }];
    app.post<{ Body: { id: string; wallet: string; pubkey: string; max_kwh?: string } }>(
      '/api/admin/meters',
      {
        preHandler: auth.requireRole('admin'),
        config: { rateLimit: {} },
        schema: {
          tags: ['admin'],
          security,
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'wallet', 'pubkey'],
            properties: { id: meterIdString, wallet: walletString, pubkey: walletString, max_kwh: kwhString },
          },
          response: withErrors(
            {
              201: {
                type: 'object',
                required: [...Object.keys(meterProps), 'mqtt_username', 'mqtt_password'],
                properties: {
                  ...meterProps,
                  mqtt_username: { type: 'string' },
                  mqtt_password: { type: 'string', description: 'shown once; only its hash is stored' },
                },
              },
            },
            400, 401, 403, 409, 429,
          ),
        },
      },
      async (request, reply) => {
        const b = request.body;
        const problem = registrationProblem({ id: b.id, wallet: b.wallet, pubkey: b.pubkey, maxKwh: b.max_kwh ?? DEFAULT_MAX_KWH });
        if (problem) throw badRequest('invalid_request', `${problem.field}: ${problem.message}`);
        const password = generatePassword();
        const row = await insertMeter(deps.pool, {
          id: b.id,
          ownerWallet: b.wallet,
          publicKey: b.pubkey,
          maxKwh: b.max_kwh ?? DEFAULT_MAX_KWH,
          passwordHash: hashPassword(password),
        });
        if (!row) throw conflict('meter_exists', `meter ${b.id} already exists`);
        request.log.info({ meter_id: row.id, by: request.principal!.sub }, 'meter registered');
        // The password is shown only in this answer, so a broker failure must not lose it: the
        // meter is registered; `gridmint meter passwd <id>` provisions it again later.
        await deps.provisioner?.upsertMeter(row.id, password).catch((err: Error) =>
          request.log.error({ meter_id: row.id, err: err.message }, 'meter registered but not provisioned in the broker; run `gridmint meter passwd` for it'),
        );
        return reply.code(201).send({ ...view(row), mqtt_username: row.id, mqtt_password: password });
      },
    );

    app.get<{ Querystring: { limit: number; offset: number } }>(
      '/api/admin/meters',
      {
        preHandler: auth.requireRole('admin'),
        schema: {
          tags: ['admin'],
          security,
          querystring: pageQuery,
          response: withErrors({ 200: pageOf('meters', meterBody) }, 400, 401, 403),
        },
      },
      async (request) => {
        const { limit, offset } = request.query;
        return { meters: (await listMeters(deps.pool, limit, offset)).map(view), page: { limit, offset } };
      },
    );
  };
}
