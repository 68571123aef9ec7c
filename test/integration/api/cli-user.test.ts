import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../../src/api/auth.js';
import { createCliWorkspace, runCli, type CliWorkspace, wallet } from '../../harness/index.js';

let ws: CliWorkspace;

beforeAll(async () => {
  ws = await createCliWorkspace('cli-user');
});
afterAll(async () => {
  await ws?.drop();
});

const cliEnv = (extra: Record<string, string> = {}) => ({ ...ws.env, NODE_ENV: 'development', JWT_SECRET: '', LOG_LEVEL: 'warn', ...extra });
const gridmint = (...args: string[]) => runCli(args, cliEnv());
const gridmintEnv = (extra: Record<string, string>, ...args: string[]) => runCli(args, cliEnv(extra));

describe('gridmint user add / gridmint jwt', () => {
  it('creates a user, signs a token the API accepts, and refuses mismatched claims', async () => {
    const w = wallet();
    const add = await gridmint('user', 'add', '--wallet', w, '--role', 'rec_authority', '--name', 'Green Registry', '--json');
    expect(add.code, add.stderr).toBe(0);
    const user = JSON.parse(add.stdout);
    expect(user).toMatchObject({ wallet: w, role: 'rec_authority', name: 'Green Registry' });
    expect(user.id).toMatch(/^[0-9a-f-]{36}$/);

    const jwt = await gridmint('jwt', '--sub', user.id, '--role', 'rec_authority', '--ttl', '600');
    expect(jwt.code, jwt.stderr).toBe(0);
    const token = jwt.stdout.trim();
    // same key resolution as the daemon: the secret generated under DATA_DIR/keys, mode 0600
    const secretFile = join(ws.dataDir, 'keys', 'jwt-secret');
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const auth = createAuthenticator({ secret: readFileSync(secretFile, 'utf8').trim(), publicKey: null, issuer: null });
    const req = { headers: { authorization: `Bearer ${token}` }, principal: null } as never as { principal: unknown };
    auth.identify(req as never);
    expect(req.principal).toEqual({ sub: user.id, role: 'rec_authority', wallet: w, name: 'Green Registry' });

    const wrongRole = await gridmint('jwt', '--sub', user.id, '--role', 'admin', '--ttl', '600');
    expect(wrongRole.code).toBe(1);
    expect(wrongRole.stderr).toMatch(/has role rec_authority/);
    const unknown = await gridmint('jwt', '--sub', '00000000-0000-0000-0000-000000000000', '--role', 'user', '--ttl', '60', '--json');
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stderr).error.code).toBe('not_found');
    const dup = await gridmint('user', 'add', '--wallet', w, '--role', 'rec_authority', '--name', 'Again');
    expect(dup.code).toBe(1);
    const prod = await gridmintEnv({ NODE_ENV: 'production' }, 'jwt', '--sub', user.id, '--role', 'rec_authority', '--ttl', '60');
    expect(prod.code).toBe(1);
    expect(prod.stderr).toMatch(/JWT_SECRET .*required when NODE_ENV=production/);
    const badTtl = await gridmint('jwt', '--sub', user.id, '--role', 'rec_authority', '--ttl', '1.5');
    expect(badTtl.code).toBe(1);
  }, 300_000);

  it('jwt: role and ttl default from the user, and it refuses tokens the server would reject', async () => {
    const w = wallet();
    const user = JSON.parse((await gridmint('user', 'add', '--wallet', w, '--role', 'rec_authority', '--name', 'Default Registry', '--json')).stdout);
    const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

    // no --role, no --ttl: the stored role, one day
    const plain = await gridmint('jwt', '--sub', user.id, '--json');
    expect(plain.code, plain.stderr).toBe(0);
    const c = claimsOf(JSON.parse(plain.stdout).token);
    expect(c).toMatchObject({ sub: user.id, role: 'rec_authority', wallet: w, name: 'Default Registry' });
    expect(c.exp - c.iat).toBe(86_400);

    // --ttl above JWT_MAX_TTL_SECONDS is refused, not clipped; a lower maximum lowers the default
    const long = await gridmint('jwt', '--sub', user.id, '--ttl', '2592001');
    expect(long.code).toBe(1);
    expect(long.stderr).toMatch(/exceeds JWT_MAX_TTL_SECONDS \(2592000\)/);
    const capped = await gridmintEnv({ JWT_MAX_TTL_SECONDS: '3600', JWT_AUDIENCE: 'gridmint-api' }, 'jwt', '--sub', user.id, '--json');
    expect(capped.code, capped.stderr).toBe(0);
    const cc = claimsOf(JSON.parse(capped.stdout).token);
    expect(cc.exp - cc.iat).toBe(3600);
    expect(cc.aud).toBe('gridmint-api');

    // without a stored user: --role is required, and a rec_authority needs wallet and name
    const noRole = await gridmint('jwt', '--sub', 'svc-1', '--skip-user-check');
    expect(noRole.code).toBe(1);
    expect(noRole.stderr).toMatch(/--role is required/);
    const bare = await gridmint('jwt', '--sub', 'svc-1', '--skip-user-check', '--role', 'rec_authority', '--json');
    expect(bare.code).toBe(1);
    expect(JSON.parse(bare.stderr).error.code).toBe('would_be_refused');
    const full = await gridmint('jwt', '--sub', 'svc-1', '--skip-user-check', '--role', 'rec_authority', '--wallet', wallet(), '--name', 'Svc');
    expect(full.code, full.stderr).toBe(0);
    // anything else the verifier refuses (here a subject longer than 128 characters) is not printed
    const longSub = await gridmint('jwt', '--sub', 'x'.repeat(129), '--skip-user-check', '--role', 'user');
    expect(longSub.code).toBe(1);
    expect(longSub.stdout).toBe('');
    expect(longSub.stderr).toMatch(/server would reject: token claims are invalid/);
  }, 300_000);
});
