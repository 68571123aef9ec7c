import { brokerAccessOnce } from '../ingest/meter-provisioner.js';
import { createMeterRegistry, type BrokerUpdate, type MeterRegistry, type RegistryRefusal } from '../ingest/meter-registry.js';
import type { Pool } from '../store/pool.js';
import { CliError, type CliContext } from './context.js';

/**
 * The meter registry service for one command: the same service the admin API uses, reaching
 * Mosquitto's dynamic security (MQTT_DYNSEC) with a connection of its own for each change. Without
 * it, nothing to provision: the embedded broker reads the registry, a password-file broker needs
 * `meter passwd-file` + SIGHUP.
 */
export function meterRegistry(ctx: CliContext, pool: Pool): MeterRegistry {
  return createMeterRegistry({ pool, broker: brokerAccessOnce(ctx.config, ctx.logger) });
}

/** A registry refusal as the flag that caused it. */
export function refusalError(r: RegistryRefusal): CliError {
  return new CliError(`--${r.field.replaceAll('_', '-')}: ${r.message}`, 'invalid_argument');
}

/** True when the broker has the change; an error when it should have but does not (the registry write stands). */
export function brokerUpdated(meterId: string, what: string, b: BrokerUpdate): boolean {
  if (b.error) {
    throw new CliError(
      `meter ${meterId}: ${what} is recorded, but the broker was not updated (${b.error.message}); repeat the command once the broker answers`,
      'broker_not_updated',
    );
  }
  return b.updated;
}
