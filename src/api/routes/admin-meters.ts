import { Type } from 'typebox';
import { DomainError } from '../../domain/errors.js';
import { DEFAULT_INTERVAL_SECONDS, DEFAULT_MAX_KW } from '../../domain/plausibility.js';
import { meterView as view } from '../../store/meters.js';
import type { RouteModule } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { EXAMPLE, kwh, meterIdString, nullable, pageOf, pageQuery, stringEnum, walletString, withErrors } from '../schemas.js';
import { registerBodyProps, registerMeterProps } from './admin-register-meters.js';

const meterProps = {
  id: Type.String({ examples: [EXAMPLE.meterId] }),
  wallet: Type.String({ examples: [EXAMPLE.wallet] }),
  pubkey: Type.String({ examples: [EXAMPLE.meterPubkey] }),
  status: stringEnum(['active', 'suspended']),
  interval_seconds: Type.Integer({ examples: [900], description: 'length of one reading interval; a divisor of 86400' }),
  max_kw: Type.String({ examples: ['400'], description: 'rated power in kW (decimal string)' }),
  max_kwh_per_interval: Type.String({ examples: ['100'], description: 'derived: the most one reading may carry, max_kw × interval' }),
  created_at: Type.String({ format: 'date-time', examples: ['2026-11-20T09:00:00.000Z'] }),
  last_seen_at: nullable(
    Type.String({
      format: 'date-time',
      examples: ['2026-11-25T12:15:02.118Z'],
      description: 'when a gateway last committed a reading from this meter; refreshed at most every 30 s per gateway, so it may lag by that much',
    }),
  ),
  ...registerMeterProps,
};
const meterBody = Type.Object(meterProps);

/** The meter registry over HTTP for admins: the same rules as `gridmint meter add` / `meter list`. */
export function adminMeterRoutes(deps: Pick<ApiDeps, 'meters'>): RouteModule {
  return (app, auth) => {
    const security = [{ bearer: [] }];
    app.post(
      '/api/admin/meters',
      {
        config: { rateLimit: {} },
        schema: {
          tags: ['admin'],
          security,
          summary: 'Register a meter (admin)',
          description:
            'Same rules as `gridmint meter add`: id (also the MQTT username), owner wallet, the meter\'s ed25519 public key (base58) and a per-reading cap. ' +
            'The MQTT password is returned once; only its hash is stored. 409 `meter_exists`.',
          // max_kwh is retired (not an alias): an unknown property, so 400
          body: Type.Object(
            {
              id: meterIdString,
              wallet: walletString,
              ...registerBodyProps,
              // base58 ed25519 for JSON meters; SPKI DER hex or PEM for --format ocmf (checked by registration)
              pubkey: Type.String({ minLength: 32, maxLength: 2000, examples: [EXAMPLE.meterPubkey] }),
              interval_seconds: Type.Optional(
                Type.Integer({ minimum: 1, maximum: 86400, default: DEFAULT_INTERVAL_SECONDS, description: 'a divisor of 86400 (interval meters)' }),
              ),
              max_kw: Type.Optional(kwh({ default: DEFAULT_MAX_KW, description: 'rated power in kW (decimal string)' })),
            },
            { additionalProperties: false },
          ),
          response: withErrors(
            {
              201: Type.Object(
                {
                  ...meterProps,
                  mqtt_username: Type.String({ examples: [EXAMPLE.meterId] }),
                  mqtt_password: Type.String({ description: 'shown once; only its hash is stored', examples: ['q7Vt2mXc9LpR4sWz8KbN3hJd'] }),
                },
                { description: 'Registered; store the MQTT password in the meter now' },
              ),
            },
            400, 401, 403, 409, 429,
          ),
        },
      },
      async (request, reply) => {
        const caller = auth.authorize(request, 'admin');
        const b = request.body;
        const r = await deps.meters.register({
          id: b.id, wallet: b.wallet, pubkey: b.pubkey, intervalSeconds: b.interval_seconds ?? DEFAULT_INTERVAL_SECONDS, maxKw: b.max_kw ?? DEFAULT_MAX_KW,
          reads: b.reads ?? 'interval', format: b.format ?? 'json', registerModulus: b.register_modulus, initialRegister: b.initial_register, obis: b.obis, serial: b.serial,
        });
        if (!r.ok) throw 'exists' in r ? new DomainError('meter_exists', r.message) : new DomainError('invalid_request', `${r.field}: ${r.message}`);
        const { meter: row, password } = r;
        request.log.info({ meter_id: row.id, by: caller.sub }, 'meter registered');
        // The password is shown only in this answer, so a broker failure must not lose it: the
        // meter is registered; `gridmint meter passwd <id>` provisions it again later.
        if (r.broker.error) {
          request.log.error({ meter_id: row.id, err: r.broker.error.message }, 'meter registered but not provisioned in the broker; run `gridmint meter passwd` for it');
        }
        return reply.code(201).send({ ...view(row), mqtt_username: row.id, mqtt_password: password });
      },
    );

    app.get(
      '/api/admin/meters',
      {
        schema: {
          tags: ['admin'],
          security,
          summary: 'List registered meters (admin)',
          description: 'Every meter with its owner, key, status, cap and `last_seen_at` (refreshed at most every 30 s); paginated.',
          querystring: pageQuery,
          response: withErrors({ 200: pageOf('meters', meterBody, { description: 'One page of meters' }) }, 400, 401, 403),
        },
      },
      async (request) => {
        auth.authorize(request, 'admin');
        const { limit, offset } = request.query;
        return { meters: (await deps.meters.list(limit, offset)).map(view), page: { limit, offset } };
      },
    );
  };
}
