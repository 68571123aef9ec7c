import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../../src/config/schema.js';
import { repoPath } from './ops-files.js';

/** The dynamic-security variant, applied over docker-compose.yml (static checks; no Docker here). */
interface Service {
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
}
const base = YAML.parse(readFileSync(repoPath('docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const variant = YAML.parse(readFileSync(repoPath('docker-compose.dynsec.yml'), 'utf8')) as { services: Record<string, Service> };
const conf = readFileSync(repoPath('config/mosquitto/mosquitto-dynsec.conf'), 'utf8');

describe('docker-compose.dynsec.yml', () => {
  it('overrides only services of the main file, and turns on self-provisioning', () => {
    for (const name of Object.keys(variant.services)) expect(Object.keys(base.services)).toContain(name);
    expect(variant.services.gridmint!.environment!.MQTT_DYNSEC).toBe('true');
    for (const key of Object.keys(variant.services.gridmint!.environment!)) expect(Object.keys(configSchema.properties)).toContain(key);
  });

  it('starts Mosquitto on the shipped dynsec config, its plugin file in the persistent data volume', () => {
    const mosq = variant.services.mosquitto!;
    const script = mosq.command!.join('\n');
    const mount = mosq.volumes!.find((v) => v.endsWith(':/mosquitto/config/mosquitto-dynsec.conf:ro'));
    expect(mount?.split(':')[0]).toBe('./config/mosquitto/mosquitto-dynsec.conf');
    expect(script).toContain('exec mosquitto -c /mosquitto/config/mosquitto-dynsec.conf');
    const file = /^plugin_opt_config_file (\S+)$/m.exec(conf)?.[1];
    expect(file).toMatch(/^\/mosquitto\/data\//);
    expect(base.services.mosquitto!.volumes).toContain('mosquitto-data:/mosquitto/data');
    expect(script).toContain(`f=${file}`);
    expect(script).toMatch(/mosquitto_ctrl dynsec init "\$\$f" "\$\$MQTT_USERNAME" "\$\$MQTT_PASSWORD"/);
    expect(conf).toMatch(/^plugin \S*mosquitto_dynamic_security\.so$/m);
    expect(conf).toMatch(/^allow_anonymous false$/m);
    expect(conf).not.toMatch(/^(password_file|acl_file) /m);
  });

  it('takes the secret from .env (required), never a literal', () => {
    expect(variant.services.mosquitto!.environment!.MQTT_PASSWORD).toMatch(/^\$\{MQTT_PASSWORD:\?[^}]*\}$/);
    const env = readFileSync(repoPath('.env.example'), 'utf8');
    const text = readFileSync(repoPath('docker-compose.dynsec.yml'), 'utf8');
    for (const v of new Set([...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!))) expect(env).toMatch(new RegExp(`^#? ?${v}=`, 'm'));
  });
});
