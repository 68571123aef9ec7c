import { randomUUID } from 'node:crypto';
import { Keypair } from '@solana/web3.js';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { createAuthenticator, signToken, type TokenClaims } from '../../src/api/auth.js';
import { adminMeterRoutes } from '../../src/api/routes/admin-meters.js';
import { ercRoutes } from '../../src/api/routes/erc.js';
import { myReadingsRoutes } from '../../src/api/routes/my-readings.js';
import { createAnchorJob, type AnchorJob } from '../../src/erc/anchor.js';
import type { MemoChain } from '../../src/erc/chain.js';
import { createErcService } from '../../src/erc/service.js';
import { brokerAccess } from '../../src/ingest/meter-provisioner.js';
import { createMeterRegistry } from '../../src/ingest/meter-registry.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { insertMeter } from '../../src/store/meters.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { captureLog } from './log.js';

export const SECRET = 'test-secret-'.padEnd(48, 'x');

export interface TestApi {
  db: TestDatabase;
  app: FastifyInstance;
  anchor: AnchorJob | null;
  /** every log line the app wrote */
  logLines: string[];
  close(): Promise<void>;
}

/**
 * The certificate, admin-meter and my-readings routes on a fresh test database, in-process (call
 * `app.inject`), with the real JWT verifier (tokens from `actor`/`token`); `chain` null = no anchoring.
 */
export async function startTestApi(
  opts: { chain?: MemoChain | null; writeRateLimit?: number; memoCacheMs?: number; publicRateLimit?: number; trustProxy?: string } = {},
): Promise<TestApi> {
  const db = await createTestDatabase();
  const { lines: logLines, logger } = captureLog('info');
  const metrics = createMetrics();
  const chain = opts.chain ?? null;
  const anchor = chain ? createAnchorJob({ pool: db.pool, chain, logger, metrics, intervalMs: 3_600_000 }) : null;
  // No memo cache unless asked: these tests switch the chain off and on between calls.
  const service = createErcService({ pool: db.pool, chain, metrics, memoCacheMs: opts.memoCacheMs ?? 0 });
  const app = await buildApp({
    logger,
    metrics,
    auth: createAuthenticator({ secret: SECRET, publicKey: null, issuer: null }),
    routes: [
      ercRoutes({ erc: service, limits: { publicPerMinute: opts.publicRateLimit } }),
      adminMeterRoutes({ meters: createMeterRegistry({ pool: db.pool, broker: brokerAccess(null) }) }),
      myReadingsRoutes({ pool: db.pool }),
    ],
    writeRateLimit: opts.writeRateLimit ?? 100_000,
    trustProxy: opts.trustProxy,
  });
  return {
    db,
    app,
    anchor,
    logLines,
    async close() {
      await anchor?.stop();
      await app.close();
      await db.drop();
    },
  };
}

/** A fresh Solana address (base58), for owners and recipients. */
export const wallet = () => Keypair.generate().publicKey.toBase58();

export function token(claims: TokenClaims, ttl = 600): string {
  return signToken(SECRET, claims, ttl);
}

export interface Actor {
  sub: string;
  wallet: string;
  headers: { authorization: string };
}

export function actor(role: TokenClaims['role'], name?: string): Actor {
  const sub = randomUUID();
  const w = wallet();
  const t = token({ sub, role, wallet: w, ...(name || role === 'rec_authority' ? { name: name ?? `Authority ${sub.slice(0, 4)}` } : {}) });
  return { sub, wallet: w, headers: { authorization: `Bearer ${t}` } };
}

/** Registers a meter directly in the database (the store call the CLI uses). */
export async function addMeter(db: TestDatabase, ownerWallet: string, id = `m-${randomUUID().slice(0, 8)}`): Promise<string> {
  await insertMeter(db.pool, { id, ownerWallet, publicKey: Keypair.generate().publicKey.toBase58(), passwordHash: 'x' });
  return id;
}

/** Inserts accepted readings (timestamp, kWh) for a meter directly into meter_readings. */
export async function addReadings(db: TestDatabase, meterId: string, ownerWallet: string, rows: [string, string][]): Promise<string[]> {
  const r = await db.pool.query<{ id: string }>(
    `INSERT INTO meter_readings (meter_id, wallet_address, kwh_amount, "timestamp", signature, received_at)
     SELECT $1, $2, k::numeric, t::timestamptz, 'sig', now() FROM unnest($3::text[], $4::text[]) AS x(t, k) RETURNING id`,
    [meterId, ownerWallet, rows.map((r) => r[0]), rows.map((r) => r[1])],
  );
  return r.rows.map((x) => x.id);
}
