import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { dashboard, dashboardExprs, metricNamesIn, repoPath } from './ops-files.js';

describe('Grafana dashboard and provisioning', () => {
  const d = dashboard();
  const names = new Set(dashboardExprs().flatMap((e) => metricNamesIn(e.expr)));

  it('shows what the operations issue asks for', () => {
    for (const metric of [
      'gridmint_readings_accepted_total', // ingest rate, accepted
      'gridmint_readings_rejected_total', // … rejected by reason
      'gridmint_ingest_commit_seconds_bucket', // publish-to-commit p50/p99
      'gridmint_meters_connected',
      'gridmint_meters_with_missing_intervals', // issue 8 §5: gaps visible
      'gridmint_mqtt_connections_refused_total', // issue 8 §3: broker limits at work
      'gridmint_unminted_kwh',
      'gridmint_oldest_unminted_reading_age_seconds', // mint lag
      'gridmint_mint_transactions_total', // by outcome
      'gridmint_mint_instructions_per_transaction_sum', // per transaction
      'gridmint_chain_rpc_errors_total',
      'gridmint_http_request_duration_seconds_bucket', // latency by route
      'gridmint_http_requests_total', // by status class
      'gridmint_process_resident_memory_bytes',
      'gridmint_nodejs_eventloop_lag_p99_seconds',
      'gridmint_meters_on_hold', // register meters on hold (issue 10)
      'gridmint_ocmf_pages_missing',
    ]) {
      expect(names, metric).toContain(metric);
    }
    const exprs = dashboardExprs().map((e) => e.expr).join('\n');
    expect(exprs).toMatch(/histogram_quantile\(0\.5,[^\n]*gridmint_ingest_commit_seconds_bucket/);
    expect(exprs).toMatch(/histogram_quantile\(0\.99,[^\n]*gridmint_ingest_commit_seconds_bucket/);
    expect(exprs).toMatch(/sum by \(reason\) \(rate\(gridmint_readings_rejected_total/);
    expect(exprs).toMatch(/by \(le, method, route\)[^\n]*gridmint_http_request_duration_seconds_bucket/);
    expect(exprs).toMatch(/sum by \(status_class\)/);
  });

  it('uses the provisioned datasource and has a sane layout', () => {
    const ds = YAML.parse(readFileSync(repoPath('config/grafana/provisioning/datasources/prometheus.yml'), 'utf8'));
    const uid = ds.datasources[0].uid;
    const panels = d.panels as unknown as { id: number; type: string; datasource?: { uid: string }; gridPos: { x: number; y: number; w: number; h: number } }[];
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) if (p.type !== 'row') expect(p.datasource?.uid).toBe(uid);
    // no two panels overlap on the 24-column grid
    const cells = new Set<string>();
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const key = `${x},${y}`;
          expect(cells.has(key), `panel ${p.id} overlaps at ${key}`).toBe(false);
          cells.add(key);
        }
      }
    }
  });

  it('is loaded from the path the dashboard provider and the compose mount agree on', () => {
    const provider = YAML.parse(readFileSync(repoPath('config/grafana/provisioning/dashboards/gridmint.yml'), 'utf8'));
    const path = provider.providers[0].options.path as string;
    const compose = YAML.parse(readFileSync(repoPath('docker-compose.yml'), 'utf8'));
    const mounts = compose.services.grafana.volumes as string[];
    expect(mounts).toContain(`./config/grafana/dashboards:${path}:ro`);
    expect(mounts).toContain('./config/grafana/provisioning:/etc/grafana/provisioning:ro');
  });
});

describe('PromQL metric-name extraction', () => {
  it('finds selected metrics and ignores functions, labels, ranges, keywords and numbers', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, route) (rate(gridmint_x_bucket{instance=~"$instance", route="/a b"}[$__rate_interval]))) / on(instance) group_left foo_total offset 5m > 1e-9 and up{job="g"} == bool 0',
      ).sort(),
    ).toEqual(['foo_total', 'gridmint_x_bucket', 'up']);
    expect(metricNamesIn('max by (job) (abs(gridmint_supply_drift_base_units)) > 0')).toEqual(['gridmint_supply_drift_base_units']);
  });
});
