import { readFile } from 'node:fs/promises';
import { keypairFromJson } from '../../chain/keys.js';
import { meterKeyFromSecret, type MeterKey } from '../../domain/sign.js';
import { getMeter } from '../../store/meters.js';
import { CliError, withDatabase, type CliContext } from '../context.js';
import { namedKeyPath } from './keygen.js';

export interface RegisteredMeter {
  id: string;
  key: MeterKey;
  owner: string;
  password: string;
}

/**
 * The meter an operator registered with `meter add`, ready to publish as itself: its key file
 * (`--key`, default DATA_DIR/keys/meters/<id>.json from `keygen --name <id>`), the owner wallet
 * from the registry, and the MQTT password `meter add` printed. The key must be the registered one,
 * or every reading would only be quarantined as bad_signature.
 */
export async function loadRegisteredMeter(ctx: CliContext, id: string, keyPath: string | undefined, password: string | undefined): Promise<RegisteredMeter> {
  if (!password) {
    throw new CliError(`--password (or GRIDMINT_METER_PASSWORD) is required: the MQTT password \`meter add\` printed for ${id}`, 'invalid_argument');
  }
  const path = keyPath ?? namedKeyPath(ctx.config, id);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read the key of ${id} at ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}); give --key`, 'invalid_argument');
  }
  let key: MeterKey;
  try {
    key = meterKeyFromSecret(keypairFromJson(text, path).secretKey);
  } catch (err) {
    throw new CliError((err as Error).message, 'invalid_argument');
  }
  const meter = await withDatabase(ctx, (pool) => getMeter(pool, id));
  if (!meter) throw new CliError(`no meter ${id} is registered (gridmint meter add --id ${id} …)`, 'not_found');
  if (meter.public_key !== key.publicKey) {
    throw new CliError(`${path} holds ${key.publicKey}, but meter ${id} is registered with ${meter.public_key}`, 'key_mismatch');
  }
  return { id, key, owner: meter.owner_wallet, password };
}
