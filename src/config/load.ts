import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { validateDetailed } from 'node-cron';
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
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // Not the parser's message: V8 quotes the file's text in it, and the file may hold secrets.
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new ConfigError(`config: ${what} ${path} is not valid JSON${at ? ` (near character ${at})` : ''}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`config: ${what} ${path} is not a JSON object`);
  return value as Record<string, unknown>;
}

const keys = Object.keys(configSchema.properties) as (keyof Config)[];

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const raw = env[key];
    if (raw === undefined) continue;
    const type = (configSchema.properties[key] as { type?: unknown }).type;
    const nullable = Array.isArray(type) && type.includes('null');
    // An empty variable means "not set" for nullable keys, e.g. DATABASE_URL= selects the embedded database.
    out[key] = raw === '' && nullable ? null : raw;
  }
  return out;
}

// coerceTypes turns env strings ("1883", "true") into the schema's types; it never coerces to null.
// allErrors: every setting is checked in the same pass, so one start reports every problem.
const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: false });
const validate = ajv.compile(configSchema);

/** Settings whose value is a secret: an error names the key and the rule, never the value. */
const SECRET_KEYS = new Set(['JWT_SECRET', 'MQTT_PASSWORD']);
/** URLs that may carry credentials (user:password@, API keys in the query): shown redacted. */
const URL_KEYS = new Set(['DATABASE_URL', 'MQTT_URL', 'SOLANA_RPC_URL']);

/** A URL with its password (or a bare token before `@`), query and fragment replaced by `***`. */
export function redactUrl(value: string): string {
  let s = value.replace(/[?#].*$/s, '?***');
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    const scheme = s.indexOf('://');
    const from = scheme >= 0 && scheme < at ? scheme + 3 : 0;
    const userinfo = s.slice(from, at);
    const colon = userinfo.indexOf(':');
    s = `${s.slice(0, from)}${colon >= 0 ? `${userinfo.slice(0, colon)}:***` : '***'}${s.slice(at)}`;
  }
  return s;
}

function shownValue(key: string, value: unknown): string {
  if (SECRET_KEYS.has(key) || /SECRET|PASSWORD|TOKEN|PRIVATE/i.test(key)) return 'value hidden';
  if (URL_KEYS.has(key) && typeof value === 'string') return `got ${JSON.stringify(redactUrl(value))}`;
  return `got ${JSON.stringify(value)}`;
}

type AjvError = NonNullable<typeof validate.errors>[number];

function describe(e: AjvError, merged: Record<string, unknown>, sources: Record<string, string>): { key: string; line: string } {
  const key =
    e.keyword === 'additionalProperties'
      ? String(e.params.additionalProperty)
      : e.keyword === 'required'
        ? String(e.params.missingProperty)
        : e.instancePath.replace(/^\//, '');
  const source = sources[key] ?? 'unknown';
  if (e.keyword === 'additionalProperties') return { key, line: `${key} is not a known setting (from ${source})` };
  if (!(key in merged)) return { key, line: `${key} ${e.message ?? 'is invalid'}` };
  const why = e.keyword === 'enum' ? `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}` : e.message ?? 'is invalid';
  return { key, line: `${key} ${why} (${shownValue(key, merged[key])} from ${source})` };
}

/** Rules between settings, and values the JSON schema cannot judge; checked in the same pass. */
function crossChecks(c: Record<string, unknown>, sources: Record<string, string>, failed: Set<string>): string[] {
  const out: string[] = [];
  const schedule = c.MINT_SCHEDULE;
  if (!failed.has('MINT_SCHEDULE') && typeof schedule === 'string') {
    const v = validateDetailed(schedule);
    if (!v.valid) {
      const why = v.errors?.map((x) => x.message).join(', ') ?? 'invalid';
      out.push(`MINT_SCHEDULE must be a cron expression of 5 or 6 fields: ${why} (got ${JSON.stringify(schedule)} from ${sources.MINT_SCHEDULE ?? 'unknown'})`);
    }
  }
  // Two embedded servers cannot share a port; with 0 (any free port) they never collide.
  const listening = [
    ['HTTP_PORT', true],
    ['MQTT_PORT', c.MQTT_URL == null],
    ['LEDGER_PORT', c.SOLANA_RPC_URL == null],
    ['EMBEDDED_PG_PORT', c.DATABASE_URL == null],
  ] as const;
  const byPort = new Map<unknown, string[]>();
  for (const [key, used] of listening) {
    if (!used || failed.has(key) || c[key] === 0) continue;
    byPort.set(c[key], [...(byPort.get(c[key]) ?? []), key]);
  }
  for (const [port, same] of byPort) if (same.length > 1) out.push(`${same.join(' and ')} must differ (both ${String(port)})`);
  return out;
}

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

  const problems: string[] = [];
  const failed = new Set<string>();
  if (!validate(merged)) {
    for (const e of validate.errors!) {
      const d = describe(e, merged, sources);
      // one line per setting: the first rule it breaks is enough to fix it
      if (failed.has(d.key)) continue;
      failed.add(d.key);
      problems.push(d.line);
    }
  }
  problems.push(...crossChecks(merged, sources, failed));
  if (problems.length === 1) throw new ConfigError(`config: ${problems[0]}`);
  if (problems.length > 1) throw new ConfigError(`config: ${problems.length} problems: ${problems.join('; ')}`);
  // validate() has just proved merged is a Config (coerced in place); the type guard does not
  // narrow a Record, hence the one assertion.
  return Object.freeze(merged as Config);
}
