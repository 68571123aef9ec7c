import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Reads a value generated on first use and kept under DATA_DIR, creating it if absent. Written
 * with O_EXCL so two processes starting at once cannot each keep a different value.
 */
export async function readOrCreateFile(path: string, create: () => string, modes: { file: number; dir: number }): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: modes.dir });
  const value = create();
  try {
    await writeFile(path, `${value}\n`, { mode: modes.file, flag: 'wx' });
    return value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(path, 'utf8')).trim();
    throw err;
  }
}

/** A generated secret: mode 0600 in a 0700 directory. */
export function readOrCreateSecret(path: string, bytes = 32): Promise<string> {
  return readOrCreateFile(path, () => randomBytes(bytes).toString('base64url'), { file: 0o600, dir: 0o700 });
}
