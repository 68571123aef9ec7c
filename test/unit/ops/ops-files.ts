import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

/** Reading the shipped monitoring files, and the metric names their PromQL uses. */

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const repoPath = (p: string) => `${ROOT}${p}`;

export const ALERTS_FILE = 'config/prometheus/alerts.yml';
export const DASHBOARD_FILE = 'config/grafana/dashboards/gridmint.json';

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(): AlertRule[] {
  const doc = YAML.parse(readFileSync(repoPath(ALERTS_FILE), 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

interface Panel {
  title?: string;
  type: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

export function dashboard(): { uid: string; panels: Panel[]; templating: { list: { query?: unknown; definition?: string }[] } } {
  return JSON.parse(readFileSync(repoPath(DASHBOARD_FILE), 'utf8'));
}

/** Every PromQL expression in the dashboard: panel targets (rows included) and variable queries. */
export function dashboardExprs(): { where: string; expr: string }[] {
  const d = dashboard();
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      if (p.panels) walk(p.panels);
    }
  };
  walk(d.panels);
  for (const v of d.templating.list) {
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    if (q) out.push({ where: 'dashboard variable', expr: q.replace(/^label_values\((.*)\)$/, '$1').replace(/,\s*\w+\s*$/, '') });
  }
  return out;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * Metric names a PromQL expression selects. Removes string literals, label matchers `{…}`, range
 * and subquery brackets `[…]`, grouping clauses `by (…)` etc., Grafana variables and numbers, then
 * keeps identifiers that are not function calls or keywords.
 */
export function metricNamesIn(expr: string): string[] {
  let s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/\boffset\s+-?\d+[smhdwy]/g, ' ');
  s = s.replace(/(?<![\w:.])\d+(\.\d+)?(e[+-]?\d+)?/gi, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/(?<![\w:])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    if (m[2]) continue; // a function call
    if (KEYWORDS.has(m[1]!.toLowerCase())) continue;
    names.add(m[1]!);
  }
  return [...names];
}

/** Names of metric families in a Prometheus text exposition (from # TYPE lines) and their sample names. */
export function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const m = /^# TYPE (\S+) (\w+)$/.exec(line);
    if (!m) continue;
    names.add(m[1]!);
    if (m[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(m[1]! + suffix);
    if (m[2] === 'summary') for (const suffix of ['_sum', '_count']) names.add(m[1]! + suffix);
  }
  return names;
}

/** Series Prometheus itself adds to every target; they are never in /metrics. */
export const PROMETHEUS_SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
