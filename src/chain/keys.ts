import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Keypair } from '@solana/web3.js';

/**
 * Keypair files in the Solana CLI format: a JSON array of the 64 secret-key bytes
 * (32-byte ed25519 seed followed by the 32-byte public key). Created 0600 inside a 0700 directory.
 * Error messages never include file contents: a JSON.parse error would echo key bytes.
 */

export function keypairFromJson(text: string, path = 'keypair'): Keypair {
  let arr: unknown;
  try {
    arr = JSON.parse(text);
  } catch {
    throw new Error(`${path}: not a Solana keypair file (invalid JSON)`);
  }
  if (!Array.isArray(arr) || arr.length !== 64 || !arr.every((n) => Number.isInteger(n) && n >= 0 && n <= 255)) {
    throw new Error(`${path}: not a Solana keypair file (expected a JSON array of 64 bytes)`);
  }
  try {
    return Keypair.fromSecretKey(Uint8Array.from(arr as number[])); // checks the public half matches
  } catch {
    throw new Error(`${path}: inconsistent keypair (public key does not match secret)`);
  }
}

export function keypairToJson(kp: Keypair): string {
  return JSON.stringify(Array.from(kp.secretKey));
}

/**
 * Writes a keypair file (fresh ed25519 key unless one is given). Refuses to overwrite unless
 * `overwrite` is set, so `gridmint keygen` can never destroy an existing meter identity.
 */
export async function writeKeypairFile(path: string, opts: { keypair?: Keypair; overwrite?: boolean } = {}): Promise<Keypair> {
  const kp = opts.keypair ?? Keypair.generate();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Written whole under a temporary name first, then put in place in one step (link: fails with
  // EEXIST if the file exists; rename: replaces it), so no reader ever sees a half-written key.
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, `${keypairToJson(kp)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    if (opts.overwrite) await rename(tmp, path);
    else await link(tmp, path);
  } finally {
    await unlink(tmp).catch(() => {}); // already gone after a rename
  }
  return kp;
}

/** Loads the keypair at `path`, creating it (0600, O_EXCL) if absent; concurrent first starts agree on one key. */
export async function loadOrCreateKeypair(path: string): Promise<Keypair> {
  try {
    return keypairFromJson(await readFile(path, 'utf8'), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    return await writeKeypairFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return keypairFromJson(await readFile(path, 'utf8'), path);
    throw err;
  }
}
