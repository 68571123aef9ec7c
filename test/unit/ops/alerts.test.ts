import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { alertRules, metricNamesIn, repoPath } from './ops-files.js';

/** What an SRE paged at 3 a.m. relies on, for every rule, whether or not promtool is installed. */
describe('alert rules', () => {
  const rules = alertRules();

  it('cover the conditions the operations issue asks for', () => {
    const byMetric = (name: string) => rules.filter((r) => metricNamesIn(r.expr).includes(name)).map((r) => r.alert);
    expect(byMetric('gridmint_oldest_unminted_reading_age_seconds').length).toBeGreaterThan(0); // mint lag
    expect(byMetric('gridmint_readings_rejected_total').length).toBeGreaterThan(0); // rejection ratio
    expect(byMetric('gridmint_chain_up').length).toBeGreaterThan(0); // chain unreachable
    expect(byMetric('gridmint_chain_rpc_errors_total').length).toBeGreaterThan(0);
    expect(byMetric('gridmint_db_up').length).toBeGreaterThan(0); // database unreachable
    expect(byMetric('up').length).toBeGreaterThan(0); // scrape down
    expect(byMetric('gridmint_supply_drift_base_units').length).toBeGreaterThan(0); // ledger drift
    expect(byMetric('gridmint_meters_stale').length).toBeGreaterThan(0); // stale meter
    expect(byMetric('gridmint_meter_hold_oldest_seconds').length).toBeGreaterThan(0); // register meter left on hold
    const lag = rules.find((r) => r.alert === 'GridmintMintLagHigh')!;
    expect(lag.expr).toMatch(/> 300\b/); // "mint lag over 5 minutes"
  });

  it('each have a unique name, a for: duration, a severity and actionable annotations', () => {
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules) {
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description?.length ?? 0, r.alert).toBeGreaterThan(40);
      expect(r.annotations?.runbook?.length ?? 0, r.alert).toBeGreaterThan(80);
    }
  });

  it('each have a promtool unit test', () => {
    const tests = YAML.parse(readFileSync(repoPath('config/prometheus/alerts.test.yml'), 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const r of rules) {
      const mine = cases.filter((c) => c.alertname === r.alert);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${r.alert} has a firing case`).toBe(true);
    }
  });
});
