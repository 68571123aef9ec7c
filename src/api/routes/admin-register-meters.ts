import { badRequest, conflict, notFound } from '../../domain/errors.js';
import type { MeterRegistry } from '../../ingest/meter-registry.js';
import type { RouteModule } from '../app.js';
import { freeText, kwhString, meterIdString, timestampString, withErrors } from '../schemas.js';

/** Register fields of a meter as the admin API shows them (issue 10). */
export const registerMeterProps = {
  reads: { type: 'string', enum: ['interval', 'register'] },
  format: { type: 'string', enum: ['json', 'ocmf'] },
  register_modulus: { type: ['string', 'null'] },
  initial_register: { type: ['string', 'null'] },
  obis: { type: ['string', 'null'] },
  serial: { type: ['string', 'null'] },
  on_hold_since: { type: ['string', 'null'] },
} as const;

export const registerBodyProps = {
  reads: { type: 'string', enum: ['interval', 'register'] },
  format: { type: 'string', enum: ['json', 'ocmf'] },
  register_modulus: kwhString,
  initial_register: kwhString,
  obis: { type: 'string', maxLength: 40 },
  serial: { type: 'string', minLength: 1, maxLength: 64 },
} as const;

export interface RegisterBody {
  reads?: 'interval' | 'register';
  format?: 'json' | 'ocmf';
  register_modulus?: string;
  initial_register?: string;
  obis?: string;
  serial?: string;
  max_kw?: string;
}

const resolved = {
  type: 'object',
  required: ['resolution_id', 'reads_changed', 'still_on_hold'],
  properties: { resolution_id: { type: 'string' }, reads_changed: { type: 'integer' }, still_on_hold: { type: 'boolean' } },
} as const;

/** POST /api/admin/meters/:id/replace and /rebase: `gridmint meter replace|rebase` over HTTP. */
export function adminRegisterRoutes(deps: { meters: MeterRegistry }): RouteModule {
  return (app, auth) => {
    const security = [{ bearer: [] }];
    for (const kind of ['replace', 'rebase'] as const) {
      const props = {
        at: timestampString,
        reason: { ...freeText(500), examples: ['meter exchanged by the installer after a display fault'] },
        ...(kind === 'replace' ? { final_register: kwhString, new_initial: kwhString } : {}),
      };
      app.post<{ Params: { id: string }; Body: { at: string; reason: string; final_register?: string; new_initial?: string } }>(
        `/api/admin/meters/:id/${kind}`,
        {
          preHandler: auth.requireRole('admin'),
          config: { rateLimit: {} },
          schema: {
            tags: ['admin'],
            summary: kind === 'replace' ? 'Resolve a hold as a meter exchange' : 'Resolve a hold by accepting a held read as the new baseline',
            description:
              kind === 'replace'
                ? 'Like `gridmint meter replace`: energy up to `final_register` counts, counting resumes from `new_initial` after `at`. Recorded with who (the token subject) and why. 409 `not_on_hold` when there is nothing to resolve.'
                : 'Like `gridmint meter rebase`: the held read at `at` becomes the new baseline; the drop earns nothing. Recorded with who (the token subject) and why. 409 `not_on_hold` when there is nothing to resolve.',
            security,
            params: { type: 'object', required: ['id'], properties: { id: meterIdString } },
            body: { type: 'object', additionalProperties: false, required: Object.keys(props), properties: props },
            response: withErrors({ 200: { ...resolved, description: 'Resolution recorded; the held reads were re-derived' } }, 400, 401, 403, 404, 409, 429),
          },
        },
        async (request) => {
          const b = request.body;
          const r = await deps.meters.resolveHold({
            meterId: request.params.id, kind, at: b.at, finalRegister: b.final_register, newInitial: b.new_initial,
            by: `api:${request.principal!.sub}`, reason: b.reason,
          });
          if (!r.ok) {
            if (r.code === 'unknown_meter') throw notFound(`meter ${request.params.id}`);
            if (r.code === 'invalid_resolution') throw badRequest('invalid_resolution', r.message);
            throw conflict(r.code, r.message);
          }
          request.log.info({ meter_id: request.params.id, kind, by: request.principal!.sub }, 'register hold resolved');
          return { resolution_id: r.resolutionId, reads_changed: r.readsChanged, still_on_hold: r.stillOnHold };
        },
      );
    }
  };
}
