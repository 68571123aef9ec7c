import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactUrl } from '../../../src/config/load.js';

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

  it('gives the embedded broker its limits, and keeps the CONNECT timeout at 10 s or less', () => {
    const c = loadConfig({ env: base });
    expect([c.MQTT_MAX_PACKET_BYTES, c.MQTT_MAX_CONNECTIONS, c.MQTT_MAX_UNAUTHENTICATED_PER_IP, c.MQTT_CONNECT_TIMEOUT_MS]).toEqual([16_384, 10_000, 128, 10_000]);
    expect(() => loadConfig({ env: { ...base, MQTT_CONNECT_TIMEOUT_MS: '30000' } })).toThrow(/^config: MQTT_CONNECT_TIMEOUT_MS must be <= 10000/);
    expect(() => loadConfig({ env: { ...base, MQTT_MAX_PACKET_BYTES: '10' } })).toThrow(/^config: MQTT_MAX_PACKET_BYTES/);
  });
});

/** The message loadConfig throws for this environment (fails the test if it does not throw). */
function configError(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig({ env: { ...base, ...env } });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted a bad configuration');
}

describe('configuration errors', () => {
  it('an enum setting lists its allowed values', () => {
    expect(configError({ LOG_LEVEL: 'verbose' })).toBe(
      'config: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "verbose" from environment)',
    );
  });

  it('checks every setting in one pass and reports all problems on one line', () => {
    const msg = configError({ LOG_LEVEL: 'loud', MQTT_PORT: 'abc', PG_POOL_SIZE: '1', MINT_SCHEDULE: '61 * * * *' });
    expect(msg).toMatch(/^config: 4 problems: /);
    expect(msg).not.toContain('\n');
    for (const key of ['LOG_LEVEL', 'MQTT_PORT', 'PG_POOL_SIZE', 'MINT_SCHEDULE']) expect(msg).toContain(key);
  });

  it('refuses a MINT_SCHEDULE that is not a cron expression, before anything starts', () => {
    expect(configError({ MINT_SCHEDULE: 'every minute' })).toBe(
      'config: MINT_SCHEDULE must be a cron expression of 5 or 6 fields: expected 5 or 6 fields but got 2 (got "every minute" from environment)',
    );
    expect(configError({ MINT_SCHEDULE: '61 * * * *' })).toMatch(/^config: MINT_SCHEDULE .*61 is a invalid expression for minute/);
    expect(loadConfig({ env: { ...base, MINT_SCHEDULE: '*/5 * * * *' } }).MINT_SCHEDULE).toBe('*/5 * * * *');
  });

  it('refuses two embedded servers on one port, naming both settings', () => {
    expect(configError({ HTTP_PORT: '4000', LEDGER_PORT: '4000' })).toBe('config: HTTP_PORT and LEDGER_PORT must differ (both 4000)');
    // with an external broker MQTT_PORT is not listened on, so it may be anything
    expect(loadConfig({ env: { ...base, HTTP_PORT: '4000', MQTT_PORT: '4000', MQTT_URL: 'mqtt://broker:1883' } }).HTTP_PORT).toBe(4000);
  });

  it('never prints a secret: JWT_SECRET, MQTT_PASSWORD, credentials and API keys in URLs', () => {
    const secret = 'short-secret-value';
    const msg = configError({
      JWT_SECRET: secret,
      MQTT_PASSWORD: '42',
      DATABASE_URL: 'mysql://gm:db-pass-123@db:3306/gm',
      MQTT_URL: 'ws://meter:mqtt-pass-456@broker:8883',
      SOLANA_RPC_URL: 'ftp://rpc.example/?api-key=rpc-key-789',
    });
    expect(msg).toContain('JWT_SECRET must NOT have fewer than 32 characters (value hidden from environment)');
    expect(msg).toContain('DATABASE_URL must match pattern "^postgres(ql)?://" (got "mysql://gm:***@db:3306/gm" from environment)');
    expect(msg).toContain('MQTT_URL must match');
    expect(msg).toContain('SOLANA_RPC_URL must match');
    for (const s of [secret, 'db-pass-123', 'mqtt-pass-456', 'rpc-key-789']) expect(msg).not.toContain(s);
  });

  it('an unknown key or unparsable file never echoes its content', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gm-cfg-'));
    const file = join(dir, 'typo.json');
    writeFileSync(file, JSON.stringify({ JWT_SECRTE: 'typo-secret-0123456789abcdef0123456789' }));
    const msg = configError({ GRIDMINT_CONFIG: file });
    expect(msg).toBe(`config: JWT_SECRTE is not a known setting (from ${file})`);
    writeFileSync(file, '{ "JWT_SECRET": "half-written-secret');
    const broken = configError({ GRIDMINT_CONFIG: file });
    expect(broken).toMatch(/is not valid JSON \(near character \d+\)$/);
    expect(broken).not.toContain('half-written-secret');
  });

  it('redactUrl keeps what locates a server and hides what authenticates to it', () => {
    expect(redactUrl('postgresql://gm:p%40ss@db:5432/gridmint')).toBe('postgresql://gm:***@db:5432/gridmint');
    expect(redactUrl('https://rpc.example/v1?api-key=k')).toBe('https://rpc.example/v1?***');
    expect(redactUrl('https://token123@rpc.example/')).toBe('https://***@rpc.example/');
    expect(redactUrl('mqtt://broker:1883')).toBe('mqtt://broker:1883');
  });
});
