import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest,
  type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault,
} from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv, type Options as AjvOptions } from 'ajv';
import addFormats from 'ajv-formats';
import type { Logger } from 'pino';
import { ChainUnavailableError } from '../chain/errors.js';
import type { Metrics } from '../metrics/registry.js';
import type { Authenticator } from './auth.js';
import { answerFor, catalogued } from './errors.js';
import { lazyChildLogger } from './lazy-logger.js';

/** The app as route modules see it: request and reply types come from the TypeBox schemas. */
export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/**
 * A group of routes, as every `api/routes/<group>.ts` exports it: `xRoutes(deps: ApiDeps)` (or the
 * part of `ApiDeps` it uses) returns one, and the app factory registers it.
 */
export type RouteModule = (app: Api, auth: Authenticator) => Promise<void> | void;

export interface AppOptions {
  logger: Logger;
  metrics: Metrics;
  auth: Authenticator;
  routes: RouteModule[];
  /** write requests per minute per client, for routes that opt in with config.rateLimit */
  writeRateLimit: number;
  /**
   * HTTP_TRUST_PROXY: which X-Forwarded-For hops to believe. Off by default, so a client cannot
   * pick its own address; behind a proxy, set it so limits key on the real client, not the proxy.
   */
  trustProxy?: boolean | string;
}

/** HTTP_TRUST_PROXY as fastify's trustProxy: "true"/"false", a hop count, or addresses/CIDRs. */
export function trustProxySetting(v: boolean | string | undefined): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (v === undefined || v === false || v === 'false') return false;
  if (v === true || v === 'true') return true;
  if (/^[0-9]+$/.test(v)) {
    const hops = Number(v);
    return (_address, hop) => hop < hops;
  }
  return v.split(',').map((x) => x.trim()).filter(Boolean);
}

/**
 * Query strings and params arrive as text, so they are coerced to the schema's types; JSON bodies
 * are not: `"12"` is not an integer and `5` is not a string (coercion inside anyOf/union schemas
 * would silently change values, e.g. metadata). Unknown properties are refused, not stripped.
 */
function validatorCompiler() {
  const base: AjvOptions = { removeAdditional: false, useDefaults: true, allErrors: false, allowUnionTypes: true, strict: false };
  const make = (coerceTypes: AjvOptions['coerceTypes']) => {
    const ajv = new Ajv({ ...base, coerceTypes });
    addFormats.default(ajv);
    return ajv;
  };
  const body = make(false);
  const text = make('array');
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) => (httpPart === 'body' ? body : text).compile(schema);
}

/** fastify's own 4xx errors, named in the API's error catalogue */
const CLIENT_ERROR_CODES: Record<string, 'too_large' | 'unsupported_media_type'> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
};

/**
 * What a status means on any route, for responses whose schema gives no description of its own
 * (a route describes its 2xx answers and any code-specific meaning in its own description).
 */
const RESPONSE_MEANING: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: recorded, still settling',
  400: 'The request breaks the schema or a rule; `error.code` says which (`invalid_request` for schema violations)',
  401: 'Missing, malformed, expired or tampered bearer token (`unauthorized`)',
  403: 'A valid token whose role or wallet may not do this; `error.code` says which',
  404: 'No such thing, or one the caller may not see (`not_found`)',
  409: 'Conflicts with the current state; `error.code` says which',
  413: 'Body too large (`too_large`)',
  415: 'Unsupported content type (`unsupported_media_type`)',
  422: 'Well-formed but implausible; `error.code` says which rule',
  429: 'Too many requests from this client (`rate_limited`); the message says when to retry',
  503: 'A dependency (database or chain) cannot be reached; retry shortly',
};

/** Gives every documented response a description, so /docs never shows "Default Response". */
function describeResponses(schema: { response?: Record<string, unknown> } | undefined): void {
  if (!schema?.response) return;
  for (const [code, body] of Object.entries(schema.response)) {
    if (body && typeof body === 'object' && !('description' in body)) {
      schema.response[code] = { ...body, description: RESPONSE_MEANING[code] ?? `HTTP ${code}` };
    }
  }
}

function statusClass(code: number): string {
  return `${Math.floor(code / 100)}xx`;
}

/**
 * What a request line logs: never headers (Authorization stays out; a test checks it), and the
 * path without its query string — a client that wrongly puts a token in `?token=` must not get it
 * written to the log.
 */
function requestForLog(req: { method: string; url: string; ip?: string }) {
  return { method: req.method, url: req.url.split('?')[0], remoteAddress: req.ip };
}

/**
 * One access-log line per request instead of fastify's two ("incoming request" + "request
 * completed"): the completion line carries the request (method, path, address) as well as the
 * status and time, so nothing is lost. It is written by its own logger without the redaction pass
 * (the redact list's `*.x` paths make pino walk every object it logs: about 20 µs a request under
 * load, bench:api profile): the line is built here from named fields only, never headers, body or
 * query string, so there is nothing for redaction to find. Errors, 404s and stream failures log
 * as fastify does, through the request's logger, redacted.
 */
class AccessLog extends LogController {
  constructor(private readonly access: Logger) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else this.access.info({ reqId: request.id, req: requestForLog(request), res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/**
 * The HTTP app, apart from any listening socket so tests drive it with `inject`. One error shape
 * everywhere: `{ error: { code, message } }`; 5xx details go to the log, never to the caller.
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger.child({ component: 'http' }, { serializers: { req: requestForLog } }) as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
    },
    bodyLimit: 64 * 1024,
    logController: new AccessLog(opts.logger.child({ component: 'http' }, { redact: [] })),
    childLoggerFactory: lazyChildLogger,
    trustProxy: trustProxySetting(opts.trustProxy),
  });
  app.setValidatorCompiler(validatorCompiler());
  // The API speaks JSON only. fastify would hand a text/plain body to a route as a string; without
  // that parser every content type other than application/json is refused 415 before any route.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('principal', null);
  // The request id in every response lets a caller quote it and the SRE find the log lines.
  // Hooks on every request take a callback rather than being async: no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });

  app.addHook('onRoute', (route) => describeResponses(route.schema as { response?: Record<string, unknown> } | undefined));
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
    errorResponseBuilder: (_req, ctx) => ({ statusCode: 429, ...answerFor('rate_limited', `too many requests; retry in ${Math.ceil(ctx.ttl / 1000)} s`).body }),
  });

  // Label by the route template (never the raw URL) so cardinality stays bounded.
  app.addHook('onResponse', (request, reply, done) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status_class: statusClass(reply.statusCode),
    };
    opts.metrics.httpRequests.inc(labels);
    opts.metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    done();
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(answerFor('not_found', `no route ${request.method} ${request.url.split('?')[0]}`).body);
  });

  // Every refusal by its code in the catalogue (api/errors.ts); only the status of fastify's own
  // 4xx errors is fastify's.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const known = catalogued(err);
    if (known) return reply.code(known.status).send(known.body);
    if (err instanceof ChainUnavailableError) {
      request.log.warn({ err }, 'chain unavailable');
      const a = answerFor('chain_unavailable');
      return reply.code(a.status).send(a.body);
    }
    if (err.validation) {
      const a = answerFor('invalid_request', err.message);
      return reply.code(a.status).send(a.body);
    }
    const status = err.statusCode ?? 500;
    if (status === 429) {
      // @fastify/rate-limit throws what errorResponseBuilder returned; keep only the one error shape
      const body = (err as unknown as { error?: { code: string; message: string } }).error;
      return reply.code(429).send(body ? { error: body } : answerFor('rate_limited').body);
    }
    if (status < 500) return reply.code(status).send(answerFor(CLIENT_ERROR_CODES[err.code] ?? 'bad_request', err.message).body);
    request.log.error({ err }, 'request failed');
    return reply.code(500).send(answerFor('internal_error', `internal error; the server log has the details under request id ${request.id}`).body);
  });

  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  for (const routes of opts.routes) await routes(typed, opts.auth);
  return app;
}

