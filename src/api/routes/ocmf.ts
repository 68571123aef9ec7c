import { MAX_OCMF_BYTES } from '../../domain/ocmf.js';
import { Type } from 'typebox';
import type { RouteModule } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { errorBody, meterIdString, stringEnum } from '../schemas.js';
import { answerSubmission } from './readings.js';

const acceptedBody = Type.Object({ status: stringEnum(['accepted', 'duplicate']), reading_id: Type.String() });

/**
 * POST /api/meters/submit-ocmf: a signed OCMF record over HTTP, the same pipeline and answers as
 * MQTT `meters/{id}/ocmf`. No bearer token: the meter's ECDSA signature authenticates it.
 */
export function ocmfRoutes({ submit }: Pick<ApiDeps, 'submit'>): RouteModule {
  return async (app) => {
    app.post(
      '/api/meters/submit-ocmf',
      {
        config: { rateLimit: {} },
        schema: {
          tags: ['readings'],
          summary: 'Submit one signed OCMF record (OCMF|{payload}|{signature}) of a meter registered with --format ocmf',
          description:
            'No token: the meter\'s ECDSA signature over the payload bytes exactly as sent authenticates it. Each RD entry on the registered ' +
            'OBIS register becomes a register read; energy is the register\'s rise. Refusals carry the MQTT reason codes: 400 `invalid_payload`, ' +
            '401 `bad_signature`, 403 `meter_inactive`, 404 `unknown_meter`, 409 `conflict`/`ocmf_page_repeat`/`ocmf_read_repeat`, ' +
            '422 `implausible_energy`/`stale`/`future_timestamp`/`ocmf_status`/`serial_mismatch`, 503 `unavailable` (not stored: retry).',
          body: Type.Object(
            {
              meter_id: meterIdString,
              ocmf: Type.String({ minLength: 1, maxLength: MAX_OCMF_BYTES, description: 'the record exactly as the meter produced it' }),
            },
            { additionalProperties: false },
          ),
          response: {
            200: { ...acceptedBody, description: 'Every read of the record already stored with identical content (`duplicate`)' },
            201: { ...acceptedBody, description: 'Stored (`accepted`); reading_id is the first read of the record' },
            400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 413: errorBody, 422: errorBody, 429: errorBody, 503: errorBody },
        },
      },
      async (request, reply) => {
        return answerSubmission(reply, submit.ocmf(Buffer.from(request.body.ocmf, 'utf8'), request.body.meter_id));
      },
    );
  };
}
