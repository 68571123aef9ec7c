import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readOrCreateFile } from '../data-dir.js';

const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The subscriber's client-id prefix when MQTT_CLIENT_ID is not set: generated once and kept in
 * DATA_DIR. It must survive restarts and container re-creation — the broker keeps this instance's
 * persistent sessions, and with them the readings it had delivered but not yet seen acknowledged,
 * and hands them back only to a client with the same id. A hostname alone changes with every new
 * container, which would strand those sessions.
 */
export async function stableClientId(dataDir: string): Promise<string> {
  const make = () => `gridmint-${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 30)}-${randomBytes(4).toString('hex')}`;
  const id = await readOrCreateFile(join(dataDir, 'mqtt-client-id'), make, { file: 0o644, dir: 0o750 });
  if (!CLIENT_ID.test(id)) throw new Error(`${join(dataDir, 'mqtt-client-id')} does not hold a valid MQTT client id; delete it or set MQTT_CLIENT_ID`);
  return id;
}
