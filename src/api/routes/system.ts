import type { Metrics } from '../../metrics/registry.js';
import type { RouteModule } from '../app.js';

export interface Readiness {
  /** name → reachable; the gateway is ready when all are true */
  check(): Promise<Record<string, boolean>>;
}

const healthBody = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    checks: { type: 'object', additionalProperties: { type: 'boolean' } },
  },
} as const;

/** Liveness, readiness (database and broker reachable) and the Prometheus scrape endpoint. */
export function systemRoutes(metrics: Metrics, readiness: Readiness): RouteModule {
  return (app) => {
    app.get('/health/live', { schema: { tags: ['system'], response: { 200: healthBody } } }, async () => ({ status: 'ok' }));

    app.get('/health/ready', { schema: { tags: ['system'], response: { 200: healthBody, 503: healthBody } } }, async (_req, reply) => {
      const checks = await readiness.check();
      const ok = Object.values(checks).every(Boolean);
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
    });

    app.get('/metrics', { schema: { tags: ['system'], hide: true } }, async (_req, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    });
  };
}
