import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../../src/main.js';
import { startTestGateway, type TestGateway } from '../../harness/index.js';
import { alertRules, dashboardExprs, exportedNames, metricNamesIn, PROMETHEUS_SYNTHETIC } from '../../unit/ops/ops-files.js';

/**
 * The dashboard and the alert rules are only as good as the names they query: a renamed metric
 * turns a panel into "no data" and an alert into silence. This starts a real gateway, scrapes
 * /metrics over HTTP, and fails on any name the monitoring files use that it does not export.
 */
let testGateway: TestGateway;
let gateway: Gateway;
let exposition: string;

beforeAll(async () => {
  testGateway = await startTestGateway({ MINT_ENABLED: false });
  gateway = testGateway.gateway;
  // one API request and one readiness probe, so request and probe metrics have samples
  await fetch(`${gateway.urls.http}/health/ready`);
  const res = await fetch(`${gateway.urls.http}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  exposition = await res.text();
});

afterAll(async () => {
  await testGateway?.stop();
});

function unknownNames(exprs: { where: string; expr: string }[]): string[] {
  const exported = exportedNames(exposition);
  const missing: string[] = [];
  for (const { where, expr } of exprs) {
    for (const name of metricNamesIn(expr)) {
      if (!exported.has(name) && !PROMETHEUS_SYNTHETIC.has(name)) missing.push(`${name} (${where})`);
    }
  }
  return missing;
}

describe('metrics used by the monitoring files are exported by a running gateway', () => {
  it('exports the prefixed process metrics the dashboard relies on', () => {
    const exported = exportedNames(exposition);
    expect(exported).toContain('gridmint_process_resident_memory_bytes');
    expect(exported).toContain('gridmint_nodejs_eventloop_lag_p99_seconds');
    expect(exported).toContain('gridmint_ingest_commit_seconds_bucket');
    // every stage of the pipeline, before any reading arrived (a panel shows 0, not "no data")
    for (const stage of ['queued', 'verify', 'write_wait', 'write']) expect(exposition).toContain(`gridmint_ingest_stage_seconds_count{stage="${stage}"} 0`);
  });

  it('every metric in the Grafana dashboard', () => {
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThan(20);
    expect(unknownNames(exprs)).toEqual([]);
  });

  it('every metric in the alert rules', () => {
    const exprs = alertRules().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }));
    expect(exprs.length).toBeGreaterThan(5);
    expect(unknownNames(exprs)).toEqual([]);
  });

  it('reports database and broker up on a healthy gateway, so their alerts stay quiet', () => {
    expect(exposition).toMatch(/^gridmint_db_up 1$/m); // set by the readiness probe
    expect(exposition).toMatch(/^gridmint_broker_up 1$/m);
  });

  it('labels HTTP metrics by route template and status class, not raw URL', async () => {
    await fetch(`${gateway.urls.http}/no/such/path/${Date.now()}`);
    const text = await (await fetch(`${gateway.urls.http}/metrics`)).text();
    const routes = [...text.matchAll(/^gridmint_http_requests_total\{[^}]*route="([^"]*)"/gm)].map((m) => m[1]);
    expect(routes).toContain('/health/ready');
    expect(routes.some((r) => r!.includes('/no/such/path'))).toBe(false);
    expect(text).toMatch(/^gridmint_http_requests_total\{[^}]*status_class="4xx"/m);
  });
});
