import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { configSchema, type Config } from './schema.js';

export type { Config } from './schema.js';

const DEFAULT_FILE = fileURLToPath(new URL('../../config/default.json', import.meta.url));

/** Thrown for any bad configuration; its message is the one line an operator needs. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function readJsonFile(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`config: cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`config: ${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

const keys = Object.keys(configSchema.properties) as (keyof Config)[];

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const raw = env[key];
    if (raw === undefined) continue;
    const nullable = (configSchema.properties[key].type as readonly string[]).includes?.('null');
    // An empty variable means "not set" for nullable keys, e.g. DATABASE_URL= selects the embedded database.
    out[key] = raw === '' && nullable ? null : raw;
  }
  return out;
}

// coerceTypes turns env strings ("1883", "true") into the schema's types; it never coerces to null.
const ajv = new Ajv({ allErrors: false, coerceTypes: true, useDefaults: false });
const validate = ajv.compile(configSchema);

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Applied last; used by tests and the CLI to pin ports and directories. */
  overrides?: Partial<Record<keyof Config, unknown>>;
}

/** defaults ← GRIDMINT_CONFIG file ← environment ← overrides, validated, frozen. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const merged: Record<string, unknown> = { ...readJsonFile(DEFAULT_FILE, 'default config') };
  const sources: Record<string, string> = Object.fromEntries(Object.keys(merged).map((k) => [k, 'config/default.json']));
  const layer = (values: Record<string, unknown>, source: string) => {
    for (const [k, v] of Object.entries(values)) {
      merged[k] = v;
      sources[k] = source;
    }
  };
  if (env.GRIDMINT_CONFIG) layer(readJsonFile(env.GRIDMINT_CONFIG, 'GRIDMINT_CONFIG file'), env.GRIDMINT_CONFIG);
  layer(fromEnv(env), 'environment');
  if (opts.overrides) layer(opts.overrides, 'overrides');

  if (!validate(merged)) {
    const e = validate.errors![0]!;
    const key =
      e.keyword === 'additionalProperties'
        ? String(e.params.additionalProperty)
        : e.keyword === 'required'
          ? String(e.params.missingProperty)
          : e.instancePath.replace(/^\//, '');
    const shown = key in merged ? ` (got ${JSON.stringify(merged[key])} from ${sources[key] ?? 'unknown'})` : '';
    const why = e.keyword === 'additionalProperties' ? 'is not a known setting' : e.message ?? 'is invalid';
    throw new ConfigError(`config: ${key} ${why}${shown}`);
  }
  return Object.freeze(merged as unknown as Config);
}
