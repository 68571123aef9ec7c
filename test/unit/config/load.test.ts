import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.js';

const base = { NODE_ENV: 'development' } as NodeJS.ProcessEnv;

describe('loadConfig', () => {
  it('gives embedded defaults with nothing configured', () => {
    const c = loadConfig({ env: base });
    expect(c.DATABASE_URL).toBeNull();
    expect(c.MQTT_URL).toBeNull();
    expect(c.SOLANA_RPC_URL).toBeNull();
    expect(c.MQTT_PORT).toBe(1883);
    expect(c.DATA_DIR).toBe('./data');
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('layers file, then environment, with types coerced from strings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gm-cfg-'));
    const file = join(dir, 'gridmint.json');
    writeFileSync(file, JSON.stringify({ HTTP_PORT: 4000, LOG_LEVEL: 'debug' }));
    const c = loadConfig({ env: { ...base, GRIDMINT_CONFIG: file, HTTP_PORT: '4100', MINT_ENABLED: 'false' } });
    expect(c.HTTP_PORT).toBe(4100);
    expect(c.LOG_LEVEL).toBe('debug');
    expect(c.MINT_ENABLED).toBe(false);
  });

  it('treats an empty nullable variable as unset', () => {
    expect(loadConfig({ env: { ...base, DATABASE_URL: '' } }).DATABASE_URL).toBeNull();
  });

  it('stops with one line naming the bad key and where it came from', () => {
    expect(() => loadConfig({ env: { ...base, MQTT_PORT: 'abc' } })).toThrow(
      new ConfigError('config: MQTT_PORT must be integer (got "abc" from environment)'),
    );
    expect(() => loadConfig({ env: { ...base, DATABASE_URL: 'mysql://x' } })).toThrow(/^config: DATABASE_URL must match/);
    const dir = mkdtempSync(join(tmpdir(), 'gm-cfg-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ HTTP_PROT: 1 }));
    expect(() => loadConfig({ env: { ...base, GRIDMINT_CONFIG: file } })).toThrow(/^config: HTTP_PROT is not a known setting/);
    writeFileSync(file, '{ nope');
    expect(() => loadConfig({ env: { ...base, GRIDMINT_CONFIG: file } })).toThrow(/is not valid JSON/);
  });
});
