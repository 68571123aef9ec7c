import { provisionerFor, type MeterProvisioner } from '../ingest/meter-provisioner.js';
import { CliError, type CliContext } from './context.js';

/**
 * Applies a registry change to Mosquitto's dynamic security plugin when MQTT_DYNSEC is on (after
 * the registry write: the registry stays the source of truth). Without it, nothing to do: the
 * embedded broker reads the registry, a password-file broker needs `meter passwd-file` + SIGHUP.
 */
export async function provisionBroker(ctx: CliContext, meterId: string, what: string, fn: (p: MeterProvisioner) => Promise<void>): Promise<boolean> {
  let p: Awaited<ReturnType<typeof provisionerFor>> = null;
  try {
    p = await provisionerFor(ctx.config, ctx.logger);
    if (!p) return false;
    await fn(p);
    return true;
  } catch (err) {
    throw new CliError(
      `meter ${meterId}: ${what} is recorded, but the broker was not updated (${(err as Error).message}); repeat the command once the broker answers`,
      'broker_not_updated',
    );
  } finally {
    await p?.close().catch(() => {});
  }
}
