import { METER_ID_RE, readingSchema } from '../../domain/reading.js';
import type { Outcome } from '../../domain/outcome.js';
import { REASON_TEXT, type RejectReason } from '../../domain/reasons.js';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { RouteModule } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { errorBody, EXAMPLE, stringEnum } from '../schemas.js';

/**
 * Hands a raw payload to ingestion and resolves with its outcome after the commit; null = no room
 * (pending limit), Error = the gateway gave up (shutting down). `meterId` is the meter the body
 * names, or null when it names no valid one (evaluation then says why).
 */
export type ReadingSubmitter = (payload: Buffer, meterId: string | null) => Promise<Outcome | Error | null>;

/** HTTP status per reason code; the body's `code` is the reason code itself, as on MQTT. */
export const REASON_STATUS: Record<RejectReason, number> = {
  invalid_payload: 400,
  meter_mismatch: 400,
  forbidden_topic: 403,
  too_large: 413,
  bad_signature: 401,
  unknown_meter: 404,
  meter_inactive: 403,
  implausible_energy: 422,
  misaligned_timestamp: 422,
  stale: 422,
  future_timestamp: 422,
  invalid_wallet: 422,
  wallet_mismatch: 422,
  conflict: 409,
  invalid_encoding: 400,
  unprocessable: 422,
  ocmf_status: 422,
  serial_mismatch: 422,
  ocmf_page_repeat: 409,
  ocmf_read_repeat: 409,
};

const COMMIT_TIMEOUT_MS = 15_000;

const acceptedBody = Type.Object({ status: stringEnum(['accepted', 'duplicate']), reading_id: Type.String({ examples: [EXAMPLE.readingId] }) });

/** The README's test vector: a reading signed by the RFC 8032 test key. */
const exampleReading = {
  meter_id: EXAMPLE.meterId, timestamp: EXAMPLE.timestamp, kwh_amount: EXAMPLE.kwh, wallet_address: EXAMPLE.wallet, signature: EXAMPLE.signature,
};

function meterIdOf(body: Buffer): string | null {
  try {
    const v = JSON.parse(body.toString('utf8')) as { meter_id?: unknown };
    return typeof v.meter_id === 'string' && METER_ID_RE.test(v.meter_id) ? v.meter_id : null;
  } catch {
    return null;
  }
}

/**
 * Waits for a submission's commit (at most COMMIT_TIMEOUT_MS) and answers it the one way both
 * submit routes answer: 201 accepted, 200 duplicate, the reason's status, or 503 when the outcome
 * is not known to be committed — the client retries, and a retry of a reading that did commit
 * meanwhile is answered 200 duplicate.
 */
export async function answerSubmission(reply: FastifyReply, pending: Promise<Outcome | Error | null>): Promise<FastifyReply> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), COMMIT_TIMEOUT_MS);
  });
  const r = await Promise.race([pending, timeout]);
  clearTimeout(timer);
  if (r === null || r === 'timeout' || r instanceof Error) {
    return reply
      .code(503)
      .header('retry-after', '5')
      .send({ error: { code: 'unavailable', message: 'the gateway cannot store readings right now; retry later' } });
  }
  if (r.ok) return reply.code(r.outcome === 'accepted' ? 201 : 200).send({ status: r.outcome, reading_id: r.readingId });
  const message = r.detail ? `${REASON_TEXT[r.reason]}: ${r.detail}` : REASON_TEXT[r.reason];
  return reply.code(REASON_STATUS[r.reason] as 400).send({ error: { code: r.reason, message } });
}

/**
 * POST /api/meters/submit-reading: the MQTT contract over HTTP. No bearer token — the ed25519
 * signature authenticates the meter. The body schema below documents the payload; validation is
 * done by the same evaluateReading as MQTT (on the raw bytes) so reason codes are identical.
 */
export function readingRoutes({ submit }: Pick<ApiDeps, 'submit'>): RouteModule {
  return async (app) => {
    await app.register(async (scope) => {
      // Keep the raw bytes: they are what gets checked against the 4 KiB limit and quarantined.
      scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      scope.post(
        '/api/meters/submit-reading',
        {
          config: { rateLimit: {} },
          schema: {
            tags: ['readings'],
            summary: 'Submit one signed meter reading (same contract and checks as MQTT)',
            description:
              'No token: the ed25519 signature over the RFC 8785 canonical JSON (without `signature`) authenticates the meter. ' +
              'The reading, or its quarantine record, is committed before the answer. Refusals carry the same reason code as the MQTT status topic: ' +
              '400 `invalid_payload`/`meter_mismatch`, 401 `bad_signature`, 403 `meter_inactive`, 404 `unknown_meter`, 409 `conflict`, 413 `too_large`, 415 `unsupported_media_type`, ' +
              '422 `implausible_energy`/`stale`/`future_timestamp`/`invalid_wallet`/`wallet_mismatch`, 503 `unavailable` (not stored: retry).',
            // documents the payload; the handler gets the raw bytes (see the parser above)
            body: Type.Unsafe<unknown>({ ...readingSchema, examples: [exampleReading] }),
            response: {
              200: { ...acceptedBody, description: 'Already stored with identical content (`duplicate`): nothing changed', examples: [{ status: 'duplicate', reading_id: EXAMPLE.readingId }] },
              201: { ...acceptedBody, description: 'Stored (`accepted`)', examples: [{ status: 'accepted', reading_id: EXAMPLE.readingId }] },
              400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 413: errorBody, 415: errorBody, 422: errorBody, 429: errorBody,
              503: { ...errorBody, description: 'Not stored (database away or too many readings pending): retry; a retry of a reading that did commit answers 200 duplicate' },
            },
          },
          validatorCompiler: () => () => true,
        },
        async (request, reply) => {
          // No content type and no body reaches here without a parser: nothing to ingest.
          if (!Buffer.isBuffer(request.body)) {
            return reply.code(415).send({ error: { code: 'unsupported_media_type', message: 'send the reading as application/json' } });
          }
          const raw = request.body;
          return answerSubmission(reply, submit.reading(raw, meterIdOf(raw)));
        },
      );
    });
  };
}
