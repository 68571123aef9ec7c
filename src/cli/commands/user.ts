import type { Command } from 'commander';
import { resolveJwtKeys } from '../../api/jwt-keys.js';
import { createAuthenticator, signToken } from '../../api/auth.js';
import { isValidPublicKey } from '../../domain/keys.js';
import { ROLES, isRole, type Role } from '../../domain/roles.js';
import { getUser, insertUser, listUsers, type UserRow } from '../../store/users.js';
import { CliError, cliContext, output, withDatabase } from '../context.js';

function view(u: UserRow) {
  return { id: u.id, wallet: u.wallet, role: u.role, name: u.name, created_at: u.created_at.toISOString() };
}

/** One day: long enough for a session of work, short enough that a leaked token soon dies. */
const DEFAULT_TTL_SECONDS = 86_400;

interface JwtOptions {
  sub: string;
  role?: string;
  wallet?: string;
  name?: string;
  ttl?: string;
  skipUserCheck?: boolean;
}

/** --ttl, defaulting to a day (or the maximum, if lower); above JWT_MAX_TTL_SECONDS is refused, not clipped. */
function ttlOf(text: string | undefined, maxTtl: number): number {
  if (text === undefined) return Math.min(DEFAULT_TTL_SECONDS, maxTtl);
  if (!/^[1-9][0-9]{0,8}$/.test(text)) throw new CliError('--ttl must be a positive whole number of seconds', 'invalid_argument');
  const ttl = Number(text);
  if (ttl > maxTtl) throw new CliError(`--ttl ${ttl} exceeds JWT_MAX_TTL_SECONDS (${maxTtl}); the server refuses longer-lived tokens`, 'invalid_argument');
  return ttl;
}

function checkRole(role: string): Role {
  if (!isRole(role)) throw new CliError(`--role must be one of ${ROLES.join(', ')}`, 'invalid_argument');
  return role;
}

/** `gridmint user add|list` and `gridmint jwt`: API identities and their bearer tokens. */
export function registerUser(program: Command): void {
  const user = program.command('user').description('API users (token subjects)');

  user
    .command('add')
    .description("create an API user; prints the new user's id")
    .requiredOption('--wallet <wallet>', 'Solana wallet (base58)')
    .requiredOption('--role <role>', ROLES.join(' | '))
    .requiredOption('--name <name>', 'display name (recorded on certificates an authority issues)')
    .action(async (opts: { wallet: string; role: string; name: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const role = checkRole(opts.role);
      if (!isValidPublicKey(opts.wallet)) throw new CliError('--wallet is not a base58 Solana public key', 'invalid_argument');
      const name = opts.name.trim();
      if (!name || name.length > 200 || /[\u0000-\u001f\u007f]/.test(name)) throw new CliError('--name must be 1..200 printable characters', 'invalid_argument');
      const row = await withDatabase(ctx, (pool) => insertUser(pool, { wallet: opts.wallet, role, name }));
      if (!row) throw new CliError(`wallet ${opts.wallet} already has a ${role} user`, 'exists');
      output(ctx, view(row), row.id);
    });

  user
    .command('list')
    .description('list API users')
    .action(async (_opts, cmd: Command) => {
      const ctx = cliContext(cmd);
      const rows = (await withDatabase(ctx, (pool) => listUsers(pool))).map(view);
      output(ctx, rows, rows.length ? rows.map((u) => `${u.id}\t${u.role}\t${u.wallet}\t${u.name}`) : 'no users');
    });

  program
    .command('jwt')
    .description("print a signed bearer token (HS256, the daemon's JWT secret) that the server will accept")
    .requiredOption('--sub <id>', 'user id (from `gridmint user add`)')
    .option('--role <role>', `${ROLES.join(' | ')} (default: the user's stored role)`)
    .option('--wallet <wallet>', "wallet claim (default: the user's wallet)")
    .option('--name <name>', "name claim (default: the user's name)")
    .option('--ttl <seconds>', `lifetime in seconds (default ${DEFAULT_TTL_SECONDS}, at most JWT_MAX_TTL_SECONDS)`)
    .option('--skip-user-check', 'sign for a subject that is not in the users table (then --role is required)')
    .action(async (opts: JwtOptions, cmd: Command) => {
      const ctx = cliContext(cmd);
      const maxTtl = ctx.config.JWT_MAX_TTL_SECONDS;
      const ttl = ttlOf(opts.ttl, maxTtl);
      let role = opts.role === undefined ? undefined : checkRole(opts.role);
      if (opts.wallet !== undefined && !isValidPublicKey(opts.wallet)) throw new CliError('--wallet is not a base58 Solana public key', 'invalid_argument');
      const keys = await resolveJwtKeys(ctx.config);
      if (!keys.secret || keys.publicKey) {
        throw new CliError('JWT_PUBLIC_KEY is configured: tokens are signed by the external issuer, not by gridmint', 'unsupported');
      }
      let wallet = opts.wallet;
      let name = opts.name;
      if (!opts.skipUserCheck) {
        // The token should say what the users table says, so an operator cannot mis-type a role.
        const u = await withDatabase(ctx, (pool) => getUser(pool, opts.sub));
        if (!u) throw new CliError(`no user ${opts.sub}; create one with \`gridmint user add\` (or pass --skip-user-check)`, 'not_found');
        if (role !== undefined && u.role !== role) throw new CliError(`user ${u.id} has role ${u.role}, not ${role}`, 'role_mismatch');
        if (wallet !== undefined && wallet !== u.wallet) throw new CliError(`user ${u.id} has wallet ${u.wallet}`, 'wallet_mismatch');
        role = u.role;
        wallet = u.wallet;
        name ??= u.name;
      } else if (role === undefined) {
        throw new CliError('--role is required with --skip-user-check (there is no stored role to default to)', 'invalid_argument');
      }
      if (role === 'rec_authority' && (!wallet || !name)) {
        throw new CliError('a rec_authority token must carry a wallet and a name (the server refuses it otherwise): pass --wallet and --name', 'would_be_refused');
      }
      const token = signToken(keys.secret, { sub: opts.sub, role, ...(wallet ? { wallet } : {}), ...(name !== undefined ? { name } : {}) }, ttl, keys.issuer, keys.audience);
      // The last word is the server's own verifier, with this configuration's rules: never print
      // a token the API would answer with 401.
      try {
        createAuthenticator(keys).verifyToken(token);
      } catch (err) {
        throw new CliError(`refusing to print a token the server would reject: ${(err as Error).message}`, 'would_be_refused');
      }
      output(ctx, { token, sub: opts.sub, role, wallet: wallet ?? null, expires_at: new Date(Date.now() + ttl * 1000).toISOString() }, token);
    });
}
