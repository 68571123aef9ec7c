import { Type } from 'typebox';
import type { RouteModule } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { mapOf, stringEnum } from '../schemas.js';

export interface Readiness {
  /** name → reachable; the gateway is ready when all are true */
  check(): Promise<Record<string, boolean>>;
}

const healthBody = Type.Object({
  status: stringEnum(['ok', 'unavailable']),
  checks: Type.Optional(mapOf(Type.Boolean())),
});

/** Liveness, readiness (database and broker reachable) and the Prometheus scrape endpoint. */
export function systemRoutes({ metrics, readiness }: Pick<ApiDeps, 'metrics' | 'readiness'>): RouteModule {
  return (app) => {
    app.get('/health/live', {
      schema: {
        tags: ['system'],
        summary: 'Liveness: the process answers',
        description: 'Always 200 while the HTTP server runs; checks no dependency. For restarts by a supervisor.',
        response: { 200: { ...healthBody, description: 'The process is alive', examples: [{ status: 'ok' }] } },
      },
    }, async () => ({ status: 'ok' as const }));

    app.get('/health/ready', {
      schema: {
        tags: ['system'],
        summary: 'Readiness: database and broker reachable',
        description: 'Checks each dependency the gateway needs to take readings (PostgreSQL, and the MQTT broker or subscriber connections). For load balancers and the container HEALTHCHECK.',
        response: {
          200: { ...healthBody, description: 'Every check passed', examples: [{ status: 'ok', checks: { database: true, broker: true } }] },
          503: { ...healthBody, description: 'At least one check failed; `checks` says which', examples: [{ status: 'unavailable', checks: { database: false, broker: true } }] },
        },
      },
    }, async (_req, reply) => {
      const checks = await readiness.check();
      const ok = Object.values(checks).every(Boolean);
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
    });

    app.get('/metrics', { schema: { tags: ['system'], hide: true, summary: 'Prometheus metrics', description: 'Prometheus text exposition, names prefixed `gridmint_`.' } }, async (_req, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    });
  };
}
