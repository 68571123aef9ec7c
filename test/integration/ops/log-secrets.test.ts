import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import bs58 from 'bs58';
import { createSigner } from 'fast-jwt';
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../../src/api/auth.js';
import { hashPassword } from '../../../src/domain/credential.js';
import type { Config } from '../../../src/config/load.js';
import type { Gateway } from '../../../src/main.js';
import { insertMeter } from '../../../src/store/meters.js';
import { captureLog, createTestDatabase, startMosquitto, startTestGateway, tempDirs, type TestDatabase, type TestGateway, until } from '../../harness/index.js';

/**
 * Runs gateways with every kind of secret configured (JWT secret, the gateway's MQTT password,
 * a database password in DATABASE_URL, a meter's MQTT credential), exercises them the way
 * clients do — bearer tokens good and bad, a failed login, meter connections, /metrics — captures
 * everything pino writes at trace level, and greps it for each secret and token.
 */
const secret = (n = 24) => randomBytes(n).toString('hex'); // hex: identical in URLs, JSON and logs
const JWT_SECRET = `jwt-${secret(24)}`;
const MQTT_PASSWORD = `mqttpw-${secret()}`;
const DB_PASSWORD = `dbpw-${secret()}`;
const METER_PASSWORD = `meterpw-${secret()}`;
const DB_ROLE = `gridmint_logtest_${secret(4)}`;

const hasMosquitto = spawnSync('mosquitto', ['-h']).error === undefined;
// In CI (CI=true) the external-broker half must run: a missing mosquitto fails it instead.
const mustRun = /^(1|true)$/i.test(process.env.CI ?? '');
if (!hasMosquitto && !mustRun) console.log('[skip] mosquitto not found: the external-broker half of the log-secrets test is skipped');

let db: TestDatabase;
let roleUrl: string;
const dirs = tempDirs();

// One data dir (so one local ledger state) for every gateway here: they share one database, and
// a gateway refuses to start against a different chain than the one its mint was recorded on.
let sharedDataDir: string | null = null;

/** A gateway on the role's DATABASE_URL with every secret configured, logging into `level`'s capture. */
function start(level: string, extra: Record<string, unknown>): Promise<{ t: TestGateway; lines: string[] }> {
  const log = captureLog(level);
  return startTestGateway(overrides(extra), { db, logger: log.logger }).then((t) => ({ t, lines: log.lines }));
}

function overrides(extra: Record<string, unknown>) {
  sharedDataDir ??= dirs.make('ops-logs');
  return {
    NODE_ENV: 'development' as const,
    DATABASE_URL: roleUrl,
    DATA_DIR: sharedDataDir,
    JWT_SECRET,
    MQTT_USERNAME: 'gridmint-gw',
    MQTT_PASSWORD,
    MINT_ENABLED: false,
    LOG_LEVEL: 'trace',
    ...extra,
  } as Partial<Config>;
}

/** Requests a real client makes, with tokens good, expired, tampered and absent. Returns the credentials used. */
async function exercise(gw: Gateway): Promise<string[]> {
  const http = gw.urls.http;
  const admin = signToken(JWT_SECRET, { sub: 'ops-admin', role: 'admin' }, 300);
  const user = signToken(JWT_SECRET, { sub: 'ops-user', role: 'user', wallet: bs58.encode(randomBytes(32)) }, 300);
  // signed an hour ago with a one-minute lifetime
  const expired = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 60_000, clockTimestamp: Date.now() - 3_600_000 })({ sub: 'ops-admin', role: 'admin' });
  const forged = signToken(`other-${secret()}`, { sub: 'ops-admin', role: 'admin' }, 300);
  const tampered = `${admin.slice(0, admin.lastIndexOf('.') + 1)}${'A'.repeat(43)}`;
  const auth = (t: string) => ({ authorization: `Bearer ${t}` });
  const used = [admin, user, expired, forged, tampered];

  await fetch(`${http}/health/ready`, { headers: auth(admin) });
  await fetch(`${http}/metrics`, { headers: auth(admin) });
  await fetch(`${http}/api/admin/meters`, { headers: auth(admin) });
  await fetch(`${http}/api/meters/my-readings`, { headers: auth(user) });
  for (const t of [expired, forged, tampered]) {
    const res = await fetch(`${http}/api/admin/meters`, { headers: auth(t) });
    expect(res.status, 'an expired, forged or tampered token is refused').toBe(401);
  }
  await fetch(`${http}/api/admin/meters`, { headers: { authorization: `Basic ${Buffer.from(`admin:${JWT_SECRET}`).toString('base64')}` } });
  const created = await fetch(`${http}/api/admin/meters`, {
    method: 'POST',
    headers: { ...auth(admin), 'content-type': 'application/json' },
    body: JSON.stringify({ id: `ops-${secret(4)}`, wallet: bs58.encode(randomBytes(32)), pubkey: bs58.encode(randomBytes(32)) }),
  });
  // the admin endpoint answers a new meter's password once; it must not be logged either
  expect(created.status, 'POST /api/admin/meters creates the meter and answers its password once').toBe(201);
  const password = ((await created.json()) as { mqtt_password: string }).mqtt_password;
  expect(password).toEqual(expect.any(String));
  used.push(password);
  return used;
}

function leaks(lines: string[], secrets: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [what, value] of Object.entries(secrets)) {
    const hits = lines.filter((l) => l.includes(value));
    if (hits.length) found.push(`${what} in ${hits.length} line(s), e.g. ${hits[0]!.slice(0, 400)}`);
  }
  return found;
}

function tokenSecrets(tokens: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  tokens.forEach((t, i) => {
    out[`credential #${i}`] = t;
    // a JWT's signature alone is enough to replay it with the header and payload
    if (t.split('.').length === 3) out[`JWT #${i} signature`] = t.split('.')[2]!;
  });
  return out;
}

function expectStructured(lines: string[]) {
  expect(lines.length).toBeGreaterThan(5);
  const noComponent: string[] = [];
  for (const line of lines) {
    const entry = JSON.parse(line) as Record<string, unknown>;
    expect(entry).toMatchObject({ service: 'gridmint' });
    expect(typeof entry.msg === 'string' || typeof entry.time === 'string').toBe(true);
    if (!('component' in entry)) noComponent.push(String(entry.msg));
  }
  // The README promises `service` and `component` on every line.
  expect(noComponent, 'log lines without a component field').toEqual([]);
}

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
  // A role with a real password, owning the test database, so the password is in DATABASE_URL
  // and used (the local server may trust loopback; an embedded one checks it).
  const name = new URL(db.url).pathname.slice(1);
  await db.pool.query(`CREATE ROLE ${DB_ROLE} LOGIN PASSWORD '${DB_PASSWORD}'`);
  await db.pool.query(`ALTER DATABASE ${name} OWNER TO ${DB_ROLE}`);
  await db.pool.query(`ALTER SCHEMA public OWNER TO ${DB_ROLE}`);
  const u = new URL(db.url);
  u.username = DB_ROLE;
  u.password = DB_PASSWORD;
  roleUrl = u.toString();
});

afterAll(async () => {
  if (db) {
    await db.drop();
    const c = new pg.Client({ connectionString: db.url.replace(/\/[^/]*$/, '/postgres') });
    await c.connect();
    await c.query(`DROP ROLE IF EXISTS ${DB_ROLE}`);
    await c.end();
  }
  dirs.remove();
});

const baseSecrets = () => ({ JWT_SECRET, MQTT_PASSWORD, 'database password': DB_PASSWORD, 'meter MQTT password': METER_PASSWORD });

describe('logs never contain secrets, credentials or tokens', () => {
  it('embedded broker: API requests with good and bad tokens, meter logins good and bad', async () => {
    const { t, lines } = await start('trace', { MQTT_URL: null });
    const gw = t.gateway;
    let used: string[] = [];
    try {
      const meterId = `ops-meter-${secret(4)}`;
      await insertMeter(gw.pool, {
        id: meterId,
        ownerWallet: bs58.encode(randomBytes(32)),
        publicKey: bs58.encode(randomBytes(32)),
        passwordHash: hashPassword(METER_PASSWORD),
      });
      used = await exercise(gw);
      expect(gw.urls.mqtt, 'the embedded broker listens, so meter logins are exercised').toBeTruthy();
      const logins: boolean[] = [];
      for (const password of [METER_PASSWORD, `${METER_PASSWORD}x`]) {
        const client = mqtt.connect(gw.urls.mqtt!, { username: meterId, clientId: meterId, password, reconnectPeriod: 0, connectTimeout: 5_000 });
        logins.push(await new Promise<boolean>((resolve) => {
          client.once('connect', () => resolve(true));
          client.once('error', () => resolve(false));
          client.once('close', () => resolve(false));
        }));
        await client.endAsync(true);
      }
      expect(logins, 'the right password logs in, the wrong one is refused').toEqual([true, false]);
    } finally {
      await t.stop();
    }
    expectStructured(lines);
    expect(leaks(lines, { ...baseSecrets(), ...tokenSecrets(used) })).toEqual([]);
  });

  // gridmint never reads tokens from the query string, but a client that sends one there by mistake
  // must not get it written to the log: request lines log the path without the query.
  it('a token sent by mistake in the query string is not logged', async () => {
    const { t, lines } = await start('info', { MQTT_URL: null });
    const gw = t.gateway;
    const token = signToken(JWT_SECRET, { sub: 'ops-user', role: 'user' }, 300);
    try {
      await fetch(`${gw.urls.http}/api/erc/my-certificates?access_token=${token}`);
      await fetch(`${gw.urls.http}/health/live?token=${token}`);
    } finally {
      await t.stop();
    }
    expect(leaks(lines, tokenSecrets([token]))).toEqual([]);
  });

  it.skipIf(!hasMosquitto && !mustRun)('external broker: the gateway logs in to Mosquitto with its password', async () => {
    // a Mosquitto of its own from the shipped conf and ACL; the gateway logs in on its own listener
    const broker = await startMosquitto([`gridmint-gateway:${hashPassword(MQTT_PASSWORD)}`]);
    if (!broker) return expect.fail('mosquitto is required here');
    const started = await start('trace', { MQTT_URL: broker.gatewayUrl, MQTT_USERNAME: 'gridmint-gateway', MQTT_SHARE_GROUP: `ops${secret(3)}`, MQTT_SUBSCRIBER_CONNECTIONS: 2 }).catch(async (err) => {
      await broker.stop();
      throw err;
    });
    const { t, lines } = started;
    const gw = t.gateway;
    let used: string[] = [];
    try {
      // readiness includes the broker: proves the gateway really logged in with MQTT_PASSWORD
      await until(async () => (await fetch(`${gw.urls.http}/health/ready`)).status === 200, 15_000, 'gateway subscribed to mosquitto');
      used = await exercise(gw);
    } finally {
      await t.stop();
      await broker.stop();
    }
    expectStructured(lines);
    expect(leaks(lines, { ...baseSecrets(), ...tokenSecrets(used) })).toEqual([]);
  });
});
