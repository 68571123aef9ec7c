import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ALERTS_FILE, ROOT } from './ops-files.js';

/**
 * The alert rules and the scrape config as Prometheus itself reads them. promtool ships in
 * Debian's `prometheus` package (`apt-get install -y prometheus`; `.ci/run` installs it). In CI
 * (CI=true) a missing promtool FAILS this file, so the alert thresholds cannot silently go
 * untested; on a developer machine without it these checks skip with a notice.
 */
const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const hasPromtool = probe.status === 0;
const inCi = /^(1|true)$/i.test(process.env.CI ?? '');
if (!hasPromtool && !inCi) console.log('[skip] promtool not found: install Debian package `prometheus` to check and unit-test the alert rules');

describe.runIf(inCi)('promtool in CI', () => {
  it('is installed (Debian package prometheus), so the alert rules are really tested', () => {
    expect(probe.status, 'promtool not found on PATH: apt-get install -y prometheus').toBe(0);
  });
});

function promtool(...args: string[]) {
  const r = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe.skipIf(!hasPromtool)('promtool', () => {
  it('accepts the alert rules', () => {
    const r = promtool('check', 'rules', ALERTS_FILE);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('passes the rules unit tests (each alert fires when it should and stays quiet otherwise)', () => {
    const r = promtool('test', 'rules', 'config/prometheus/alerts.test.yml');
    expect(r.status, r.output).toBe(0);
  });

  it('accepts the Prometheus configuration, including its rule file', () => {
    const r = promtool('check', 'config', 'config/prometheus/prometheus.yml');
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/1 rule files found/);
  });
});
