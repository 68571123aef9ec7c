import { Type, type Static, type TObject } from 'typebox';
import { DomainError, notFound } from '../../domain/errors.js';
import type { RouteModule } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { freeText, kwhString, meterIdString, nullable, stringEnum, timestampString, withErrors } from '../schemas.js';

const nullableString = nullable(Type.String());

/** Register fields of a meter as the admin API shows them (issue 10). */
export const registerMeterProps = {
  reads: stringEnum(['interval', 'register']),
  format: stringEnum(['json', 'ocmf']),
  register_modulus: nullableString,
  initial_register: nullableString,
  obis: nullableString,
  serial: nullableString,
  on_hold_since: nullableString,
};

export const registerBodyProps = {
  reads: Type.Optional(stringEnum(['interval', 'register'])),
  format: Type.Optional(stringEnum(['json', 'ocmf'])),
  register_modulus: Type.Optional(kwhString),
  initial_register: Type.Optional(kwhString),
  obis: Type.Optional(Type.String({ maxLength: 40 })),
  serial: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
};

export type RegisterBody = Static<TObject<typeof registerBodyProps>> & { max_kw?: string };

const resolved = Type.Object({ resolution_id: Type.String(), reads_changed: Type.Integer(), still_on_hold: Type.Boolean() });

const rebaseBody = Type.Object(
  { at: timestampString, reason: freeText(500, { examples: ['meter exchanged by the installer after a display fault'] }) },
  { additionalProperties: false },
);
const replaceBody = Type.Object({ ...rebaseBody.properties, final_register: kwhString, new_initial: kwhString }, { additionalProperties: false });
/** Either body, as one type: the replace fields are there only for `replace`. */
const bodyOf = (kind: 'replace' | 'rebase') =>
  Type.Unsafe<Static<typeof rebaseBody> & Partial<Static<typeof replaceBody>>>(kind === 'replace' ? replaceBody : rebaseBody);

/** POST /api/admin/meters/:id/replace and /rebase: `gridmint meter replace|rebase` over HTTP. */
export function adminRegisterRoutes(deps: Pick<ApiDeps, 'meters'>): RouteModule {
  return (app, auth) => {
    const security = [{ bearer: [] }];
    for (const kind of ['replace', 'rebase'] as const) {
      app.post(
        `/api/admin/meters/:id/${kind}`,
        {
          config: { rateLimit: {} },
          schema: {
            tags: ['admin'],
            summary: kind === 'replace' ? 'Resolve a hold as a meter exchange' : 'Resolve a hold by accepting a held read as the new baseline',
            description:
              kind === 'replace'
                ? 'Like `gridmint meter replace`: energy up to `final_register` counts, counting resumes from `new_initial` after `at`. Recorded with who (the token subject) and why. 409 `not_on_hold` when there is nothing to resolve.'
                : 'Like `gridmint meter rebase`: the held read at `at` becomes the new baseline; the drop earns nothing. Recorded with who (the token subject) and why. 409 `not_on_hold` when there is nothing to resolve.',
            security,
            params: Type.Object({ id: meterIdString }),
            body: bodyOf(kind),
            response: withErrors({ 200: { ...resolved, description: 'Resolution recorded; the held reads were re-derived' } }, 400, 401, 403, 404, 409, 429),
          },
        },
        async (request) => {
          const caller = auth.authorize(request, 'admin');
          const b = request.body;
          const r = await deps.meters.resolveHold({
            meterId: request.params.id, kind, at: b.at, finalRegister: b.final_register, newInitial: b.new_initial,
            by: `api:${caller.sub}`, reason: b.reason,
          });
          if (!r.ok) {
            if (r.code === 'unknown_meter') throw notFound(`meter ${request.params.id}`);
            throw new DomainError(r.code, r.message);
          }
          request.log.info({ meter_id: request.params.id, kind, by: caller.sub }, 'register hold resolved');
          return { resolution_id: r.resolutionId, reads_changed: r.readsChanged, still_on_hold: r.stillOnHold };
        },
      );
    }
  };
}
