import type { Command } from 'commander';
import { resolveJwtKeys } from '../../api/jwt-keys.js';
import { signToken } from '../../api/auth.js';
import { isValidPublicKey } from '../../domain/keys.js';
import { ROLES, isRole, type Role } from '../../domain/roles.js';
import { getUser, insertUser, listUsers, type UserRow } from '../../store/users.js';
import { CliError, cliContext, output, withDatabase } from '../context.js';

function view(u: UserRow) {
  return { id: u.id, wallet: u.wallet, role: u.role, name: u.name, created_at: u.created_at.toISOString() };
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
    .description("print a signed bearer token (HS256, the daemon's JWT secret)")
    .requiredOption('--sub <id>', 'user id (from `gridmint user add`)')
    .requiredOption('--role <role>', ROLES.join(' | '))
    .option('--wallet <wallet>', "wallet claim (default: the user's wallet)")
    .option('--name <name>', "name claim (default: the user's name)")
    .requiredOption('--ttl <seconds>', 'lifetime in seconds')
    .option('--skip-user-check', 'sign for a subject that is not in the users table')
    .action(async (opts: { sub: string; role: string; wallet?: string; name?: string; ttl: string; skipUserCheck?: boolean }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const role = checkRole(opts.role);
      const ttl = Number(opts.ttl);
      if (!/^[1-9][0-9]{0,8}$/.test(opts.ttl)) throw new CliError('--ttl must be a positive whole number of seconds', 'invalid_argument');
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
        if (u.role !== role) throw new CliError(`user ${u.id} has role ${u.role}, not ${role}`, 'role_mismatch');
        if (wallet !== undefined && wallet !== u.wallet) throw new CliError(`user ${u.id} has wallet ${u.wallet}`, 'wallet_mismatch');
        wallet = u.wallet;
        name ??= u.name;
      }
      const token = signToken(keys.secret, { sub: opts.sub, role, ...(wallet ? { wallet } : {}), ...(name ? { name } : {}) }, ttl, keys.issuer);
      output(ctx, { token, sub: opts.sub, role, wallet: wallet ?? null, expires_at: new Date(Date.now() + ttl * 1000).toISOString() }, token);
    });
}
