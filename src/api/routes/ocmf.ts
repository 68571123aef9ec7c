import { METER_ID_PATTERN } from '../../domain/reading.js';
import { MAX_OCMF_BYTES } from '../../domain/ocmf.js';
import { REASON_TEXT } from '../../domain/reasons.js';
import type { RouteModule } from '../app.js';
import { errorBody } from '../schemas.js';
import { REASON_STATUS, type ReadingSubmitter } from './readings.js';

const COMMIT_TIMEOUT_MS = 15_000;

const acceptedBody = {
  type: 'object',
  required: ['status', 'reading_id'],
  properties: { status: { type: 'string', enum: ['accepted', 'duplicate'] }, reading_id: { type: 'string' } },
} as const;

/**
 * POST /api/meters/submit-ocmf: a signed OCMF record over HTTP, the same pipeline and answers as
 * MQTT `meters/{id}/ocmf`. No bearer token: the meter's ECDSA signature authenticates it.
 */
export function ocmfRoutes(submit: ReadingSubmitter): RouteModule {
  return async (app) => {
    app.post<{ Body: { meter_id: string; ocmf: string } }>(
      '/api/meters/submit-ocmf',
      {
        config: { rateLimit: {} },
        schema: {
          tags: ['readings'],
          summary: 'Submit one signed OCMF record (OCMF|{payload}|{signature}) of a meter registered with --format ocmf',
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['meter_id', 'ocmf'],
            properties: {
              meter_id: { type: 'string', pattern: METER_ID_PATTERN },
              ocmf: { type: 'string', minLength: 1, maxLength: MAX_OCMF_BYTES, description: 'the record exactly as the meter produced it' },
            },
          },
          response: { 200: acceptedBody, 201: acceptedBody, 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 413: errorBody, 422: errorBody, 429: errorBody, 503: errorBody },
        },
      },
      async (request, reply) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), COMMIT_TIMEOUT_MS);
        });
        const r = await Promise.race([submit(Buffer.from(request.body.ocmf, 'utf8'), request.body.meter_id), timeout]);
        clearTimeout(timer);
        if (r === null || r === 'timeout' || r instanceof Error) {
          return reply
            .code(503)
            .header('retry-after', '5')
            .send({ error: { code: 'unavailable', message: 'the gateway cannot store readings right now; retry later' } });
        }
        if (r.outcome === 'accepted' || r.outcome === 'duplicate') {
          return reply.code(r.outcome === 'accepted' ? 201 : 200).send({ status: r.outcome, reading_id: r.readingId! });
        }
        const message = r.detail ? `${REASON_TEXT[r.outcome]}: ${r.detail}` : REASON_TEXT[r.outcome];
        return reply.code(REASON_STATUS[r.outcome] as 400).send({ error: { code: r.outcome, message } });
      },
    );
  };
}
