import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * The subscriber's client-id prefix when MQTT_CLIENT_ID is not set: generated once and kept in
 * DATA_DIR. It must survive restarts and container re-creation — the broker keeps this instance's
 * persistent sessions, and with them the readings it had delivered but not yet seen acknowledged,
 * and hands them back only to a client with the same id. A hostname alone changes with every new
 * container, which would strand those sessions.
 */
export async function stableClientId(dataDir: string): Promise<string> {
  const file = join(dataDir, 'mqtt-client-id');
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (/^[A-Za-z0-9._-]{1,64}$/.test(id)) return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 30);
  const id = `gridmint-${host}-${randomBytes(4).toString('hex')}`;
  await mkdir(dataDir, { recursive: true });
  try {
    await writeFile(file, `${id}\n`, { flag: 'wx' });
    return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(file, 'utf8')).trim();
    throw err;
  }
}
