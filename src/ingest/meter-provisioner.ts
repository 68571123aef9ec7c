import type { Logger } from 'pino';
import type { Started } from '../lib/component.js';
import { AGAIN, retry, sleep } from '../lib/retry.js';
import type { Config } from '../config/load.js';
import { connectDynsec, DynsecError, type DynsecClient, type DynsecCommand } from './dynsec.js';

/**
 * Keeps Mosquitto's dynamic security plugin in step with the meter registry, so a meter change
 * takes effect at the broker at once (no password file, no SIGHUP). Called after the registry
 * write has committed; the registry stays the source of truth.
 *
 * Each meter is a dynsec client (username = meter id) with its own role `meter-<id>` that grants
 * exactly what the ACL file grants a meter: publish meters/<id>/readings and meters/<id>/ocmf,
 * subscribe meters/<id>/status. Everything else is denied by the plugin's default ACL access.
 */
export interface MeterProvisioner {
  /** a new meter, or a new password for one: the client exists with this password and its role */
  upsertMeter(id: string, password: string): Promise<void>;
  /** suspended: disabled, and disconnected at once if it is connected; active: enabled again */
  setStatus(id: string, status: 'active' | 'suspended'): Promise<void>;
  close(): Promise<void>;
}

export const meterRole = (id: string) => `meter-${id}`;
export const GATEWAY_ROLE = 'gridmint-gateway';

const acl = (rolename: string, acltype: string, topic: string): DynsecCommand => ({ command: 'addRoleACL', rolename, acltype, topic, allow: true });
const EXISTS = /already exists/i;

/** A meter's grants: its own topics and nothing else (readings: JSON; ocmf: OCMF records). */
export const meterAcls = (id: string): DynsecCommand[] => {
  const role = meterRole(id);
  return [acl(role, 'publishClientSend', `meters/${id}/readings`), acl(role, 'publishClientSend', `meters/${id}/ocmf`), acl(role, 'subscribeLiteral', `meters/${id}/status`)];
};

/** The gateway's grants: consume every meter's readings and OCMF records (also shared), answer on status. */
export const gatewayAcls = (shareGroup: string): DynsecCommand[] =>
  ['readings', 'ocmf'].flatMap((kind) => [
    acl(GATEWAY_ROLE, 'subscribePattern', `meters/+/${kind}`),
    acl(GATEWAY_ROLE, 'subscribePattern', `$share/${shareGroup}/meters/+/${kind}`),
    acl(GATEWAY_ROLE, 'publishClientReceive', `meters/+/${kind}`),
  ]).concat(acl(GATEWAY_ROLE, 'publishClientSend', 'meters/+/status'));
const check = (commands: DynsecCommand[], errors: (string | undefined)[], tolerate: RegExp | null) => {
  errors.forEach((e, i) => {
    if (e && !(tolerate && tolerate.test(e))) throw new DynsecError(commands[i]!.command, e);
  });
};

export function createDynsecProvisioner(client: DynsecClient, logger: Logger): MeterProvisioner & {
  /** the gateway's own role: consume every meter's readings and OCMF records (shared subscription), answer on status */
  ensureGatewayRole(username: string, shareGroup: string): Promise<void>;
} {
  const log = logger.child({ component: 'meter-provisioner' });
  const run = async (commands: DynsecCommand[], tolerate: RegExp | null = null) => {
    const errors = (await client.run(commands)).map((r) => r.error);
    check(commands, errors, tolerate);
    return errors;
  };
  const rolesOf = async (username: string): Promise<string[]> => {
    const [r] = await client.run([{ command: 'getClient', username }]);
    if (r!.error) throw new DynsecError('getClient', r!.error);
    return ((r!.data?.client as { roles?: { rolename: string }[] } | undefined)?.roles ?? []).map((x) => x.rolename);
  };

  return {
    async upsertMeter(id, password) {
      const role = meterRole(id);
      // The role (and its ACLs) first, so the client never exists without its limits.
      // Every ACL on every run, an existing one tolerated: a role made before a topic was added
      // (ocmf came after readings) gains it on the next upsert.
      await run([{ command: 'createRole', rolename: role }], EXISTS);
      await run(meterAcls(id), EXISTS);
      const c = [{ command: 'createClient', username: id, password, roles: [{ rolename: role }] }];
      const res = await run(c, EXISTS);
      if (res[0]) {
        // Existing client: a password change (or a re-run after a partial failure). The broker
        // disconnects it, so the old password stops working at once.
        await run([{ command: 'setClientPassword', username: id, password }]);
        if (!(await rolesOf(id)).includes(role)) await run([{ command: 'addClientRole', username: id, rolename: role }]);
      }
      log.info({ meter_id: id, created: !res[0] }, 'meter provisioned in the broker');
    },
    async setStatus(id, status) {
      await run([{ command: status === 'suspended' ? 'disableClient' : 'enableClient', username: id }]);
      log.info({ meter_id: id, status }, status === 'suspended' ? 'meter disabled and disconnected in the broker' : 'meter enabled in the broker');
    },
    async ensureGatewayRole(username, shareGroup) {
      // As for meters: a gateway role from before OCMF gains the ocmf grants at the next start.
      await run([{ command: 'createRole', rolename: GATEWAY_ROLE }], EXISTS);
      await run(gatewayAcls(shareGroup), EXISTS);
      const hasRole = async () => (await rolesOf(username)).includes(GATEWAY_ROLE);
      if (await hasRole()) return;
      // Changing an account's roles disconnects it, this connection included: the answer is lost,
      // so send, let the client reconnect, and look again.
      await client.send([{ command: 'addClientRole', username, rolename: GATEWAY_ROLE }]);
      // Up to 21 looks, 200 ms apart (first one after the reconnect has had 200 ms).
      await sleep(200);
      await retry(async () => ((await hasRole()) ? true : AGAIN), {
        attempts: 21,
        backoff: { initialMs: 200, maxMs: 200 },
        retryable: () => true,
        exhausted: () => new DynsecError('addClientRole', `the broker did not grant ${GATEWAY_ROLE} to ${username}`),
      });
      log.info({ username, role: GATEWAY_ROLE }, 'gateway role granted in the broker');
    },
    close: () => client.close(),
  };
}

/**
 * The provisioner for this configuration: only with MQTT_DYNSEC on and an external broker
 * (MQTT_URL); null otherwise (the embedded broker reads the registry directly, and a broker with a
 * password file is provisioned with `gridmint meter passwd-file` + SIGHUP).
 */
export async function provisionerFor(config: Pick<Config, 'MQTT_DYNSEC' | 'MQTT_URL' | 'MQTT_USERNAME' | 'MQTT_PASSWORD'>, logger: Logger) {
  if (!config.MQTT_DYNSEC || !config.MQTT_URL) return null;
  const client = await connectDynsec({ url: config.MQTT_URL, username: config.MQTT_USERNAME, password: config.MQTT_PASSWORD, logger });
  return createDynsecProvisioner(client, logger);
}

/**
 * How the meter registry reaches the broker: runs `fn` with a provisioner and resolves true, or
 * resolves false when this configuration has none (embedded broker, password-file broker);
 * rejects when the broker could not be updated.
 */
export type BrokerAccess = (fn: (p: MeterProvisioner) => Promise<void>) => Promise<boolean>;

/** The daemon's access: its long-lived provisioner (from startProvisioner), or none. */
export function brokerAccess(p: MeterProvisioner | null): BrokerAccess {
  return async (fn) => {
    if (!p) return false;
    await fn(p);
    return true;
  };
}

/** One command's access (CLI): connects as the dynsec admin for each use and closes again. */
export function brokerAccessOnce(config: Pick<Config, 'MQTT_DYNSEC' | 'MQTT_URL' | 'MQTT_USERNAME' | 'MQTT_PASSWORD'>, logger: Logger): BrokerAccess {
  return async (fn) => {
    let p: Awaited<ReturnType<typeof provisionerFor>> = null;
    try {
      p = await provisionerFor(config, logger);
      if (!p) return false;
      await fn(p);
      return true;
    } finally {
      await p?.close().catch(() => {});
    }
  };
}

/**
 * Daemon start-up with MQTT_DYNSEC: connect as the dynsec admin and make sure the gateway's own
 * account may consume readings before the subscriber connects. A broker that does not answer
 * dynsec commands fails the start: the operator asked for self-provisioning. Without MQTT_DYNSEC
 * (or with the embedded broker) `provisioner` is null and stop() does nothing.
 */
export async function startProvisioner({ config, logger }: {
  config: Pick<Config, 'MQTT_DYNSEC' | 'MQTT_URL' | 'MQTT_USERNAME' | 'MQTT_PASSWORD' | 'MQTT_SHARE_GROUP'>;
  logger: Logger;
}): Promise<Started & { provisioner: MeterProvisioner | null }> {
  const p = await provisionerFor(config, logger);
  if (!p) return { provisioner: null, stop: async () => {} };
  const username = config.MQTT_USERNAME ?? decodeURIComponent(new URL(config.MQTT_URL!).username);
  try {
    await p.ensureGatewayRole(username, config.MQTT_SHARE_GROUP);
  } catch (err) {
    await p.close().catch(() => {});
    throw err;
  }
  return { provisioner: p, stop: () => p.close() };
}
