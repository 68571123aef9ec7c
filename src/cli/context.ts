import type { Command } from 'commander';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from '../config/load.js';
import { createLogger } from '../logger.js';
import { startEmbeddedPostgres } from '../store/embedded.js';
import { migrate } from '../store/migrate.js';
import { createPool, type Pool } from '../store/pool.js';

export interface CliContext {
  config: Config;
  logger: Logger;
  json: boolean;
}

/** Config and a quiet logger for one CLI command; `--json` comes from the root program. */
export function cliContext(cmd: Command): CliContext {
  const json = Boolean(cmd.optsWithGlobals().json);
  const config = loadConfig();
  // Commands talk to people on stdout; logs go to stderr and only when something is wrong.
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr as never);
  return { config, logger, json };
}

/**
 * Runs fn with a migrated pool on the daemon's database: DATABASE_URL, or the embedded one under
 * DATA_DIR (the running daemon's server if it is up, else started just for this command).
 */
export async function withDatabase<T>(
  ctx: CliContext,
  fn: (pool: Pool, url: string) => Promise<T>,
  opts: { migrate?: boolean } = {},
): Promise<T> {
  let url = ctx.config.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | null = null;
  if (!url) {
    const embedded = await startEmbeddedPostgres({ dataDir: ctx.config.DATA_DIR, port: ctx.config.EMBEDDED_PG_PORT, logger: ctx.logger });
    url = embedded.url;
    if (embedded.owned) stopEmbedded = embedded.stop;
  }
  const pool = createPool(url, 4, ctx.logger);
  try {
    if (opts.migrate !== false) await migrate(url, ctx.logger);
    return await fn(pool, url);
  } finally {
    await pool.end();
    await stopEmbedded?.();
  }
}

/** Prints either the JSON value or the human lines. */
export function output(ctx: CliContext, json: unknown, human: string | string[]): void {
  if (ctx.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else process.stdout.write(`${Array.isArray(human) ? human.join('\n') : human}\n`);
}

/** A refusal the operator can act on: one line on stderr (or JSON), exit code 1 (2 for config). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 'error',
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * The one line a failed command leaves on stderr, whatever was thrown: errors without a message
 * (AggregateError from a refused connection, a rejected promise with no reason) still say
 * something, and a multi-line message is folded onto one line.
 */
export function failureMessage(err: unknown): string {
  let message: string;
  if (err instanceof Error) {
    const e = err as Error & { code?: string; errors?: unknown[] };
    const inner = e.errors?.find((x): x is Error => x instanceof Error && Boolean(x.message));
    message = e.message || inner?.message || e.code || e.name;
    if (e.code === 'EADDRINUSE' && !(err instanceof CliError)) {
      message += ' — another process holds that port; choose another with the setting that names it (MQTT_PORT, HTTP_PORT, LEDGER_PORT or EMBEDDED_PG_PORT)';
    }
  } else if (err === undefined || err === null) {
    message = 'failed without saying why (run again with LOG_LEVEL=debug)';
  } else {
    message = typeof err === 'string' ? err : JSON.stringify(err) ?? String(err);
  }
  return message.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).join(' | ');
}

export function fail(err: unknown, json: boolean): never {
  const message = failureMessage(err);
  const code = err instanceof CliError ? err.code : err instanceof ConfigError ? 'config_error' : 'error';
  const exit = err instanceof CliError ? err.exitCode : err instanceof ConfigError ? 2 : 1;
  if (json) process.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else process.stderr.write(`gridmint: ${message}\n`);
  process.exit(exit);
}
