import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import { AppError } from '../domain/errors.js';
import type { Metrics } from '../metrics/registry.js';
import type { Authenticator } from './auth.js';
import { errorBody } from './schemas.js';

/** A feature's routes: registered by the app factory with the shared dependencies. */
export type RouteModule = (app: FastifyInstance, auth: Authenticator) => Promise<void> | void;

export interface AppOptions {
  logger: Logger;
  metrics: Metrics;
  auth: Authenticator;
  routes: RouteModule[];
  /** write requests per minute per client, for routes that opt in with config.rateLimit */
  writeRateLimit: number;
}

function statusClass(code: number): string {
  return `${Math.floor(code / 100)}xx`;
}

/**
 * The HTTP app, apart from any listening socket so tests drive it with `inject`. One error shape
 * everywhere: `{ error: { code, message } }`; 5xx details go to the log, never to the caller.
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger.child({ component: 'http' }) as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
    },
    disableRequestLogging: false,
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });
  app.decorateRequest('principal', null);

  await app.register(swagger, {
    openapi: {
      info: { title: 'gridmint API', version: '1', description: 'Signed meter readings, energy tokens and ERC certificates' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(rateLimit, {
    global: false,
    max: opts.writeRateLimit,
    timeWindow: 60_000,
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      error: { code: 'rate_limited', message: `too many requests; retry in ${Math.ceil(ctx.ttl / 1000)} s` },
    }),
  });

  // Label by the route template (never the raw URL) so cardinality stays bounded.
  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status_class: statusClass(reply.statusCode),
    };
    opts.metrics.httpRequests.inc(labels);
    opts.metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } });
  });

  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    if (err instanceof AppError) return reply.code(err.status).send({ error: { code: err.code, message: err.message } });
    if ((err as FastifyError).validation) {
      return reply.code(400).send({ error: { code: 'invalid_request', message: err.message } });
    }
    const status = (err as FastifyError).statusCode ?? 500;
    if (status === 429) return reply.code(429).send(err);
    if (status < 500) {
      const code = (err as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'too_large' : 'bad_request';
      return reply.code(status).send({ error: { code, message: err.message } });
    }
    request.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal_error', message: 'internal error; see the server log for the request id' } });
  });

  for (const routes of opts.routes) await routes(app, opts.auth);
  return app;
}

export { errorBody };
