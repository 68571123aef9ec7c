import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeypair } from '../../../src/chain/keys.js';
import { createLocalLedger, type LocalLedger } from '../../../src/chain/ledger/index.js';
import { generatePassword, hashPassword } from '../../../src/domain/credential.js';
import { kwhToBaseUnits } from '../../../src/domain/kwh.js';
import type { SignedReading } from '../../../src/domain/reading.js';
import { createLogger } from '../../../src/logger.js';
import { mosquittoPasswordLines } from '../../../src/store/meters.js';
import { connectMeter, count, createTestDatabase, type Daemon, logCount, publishStream, reading, registerMeter, runCli, scrape, settleAt, startDaemon, startMosquitto, type TestDatabase, type TestMeter, type TestMosquitto, until } from '../../harness/index.js';

/**
 * Scale-out as an operator runs it: two real `gridmint start` processes on one Mosquitto (the
 * repo's conf and ACL), one Postgres and one chain, sharing `$share/<group>/meters/+/readings`
 * and the minter's advisory lock. One instance is SIGKILLed mid-stream; every reading must still
 * be stored once and minted once, and the supply audit must hold.
 */
const METERS = 6;
const PER_METER = 500; // 3,000 readings
const RATE = 300; // readings/s over all meters: the stream lasts ~10 s, so the kill lands mid-stream even on a busy machine
const CONNECTIONS = 2; // subscriber connections per instance: 4 members in the share group

const tag = `${process.pid}`;
const dirs: string[] = [];
const daemons: Daemon[] = [];
const clients: MqttClient[] = [];
let db: TestDatabase;
let ledger: LocalLedger | null = null;
let mosq: TestMosquitto | null = null;
let meters: TestMeter[] = [];
let cliEnv: Record<string, string>;
let envA: Record<string, string>;
let envB: Record<string, string>;
let mintAddress: string;
// by role, not by start order: `daemons` (for clean-up) fills in whichever order they come up
let a: Daemon;
let b: Daemon;

function tempDir(name: string): string {
  const d = mkdtempSync(join(tmpdir(), `gridmint-scale-${name}-`));
  dirs.push(d);
  return d;
}

async function start(env: Record<string, string>): Promise<Daemon> {
  const d = await startDaemon(env, { timeoutMs: 45_000 });
  daemons.push(d);
  // Ready means every subscriber connection holds its share of the subscription.
  await until(() => logCount(d.output(), 'subscribed to meter readings') >= CONNECTIONS, 15_000, `${env.MQTT_CLIENT_ID} subscribed`);
  return d;
}

const stored = () => count(db.pool, 'SELECT 1 FROM meter_readings');

beforeAll(async () => {
  db = await createTestDatabase();
  meters = await Promise.all(Array.from({ length: METERS }, (_, i) => registerMeter(db.pool, { id: `scale-${tag}-${i}` })));
  const gatewayPassword = generatePassword();
  mosq = await startMosquitto([...(await mosquittoPasswordLines(db.pool)), `gridmint-gateway:${hashPassword(gatewayPassword)}`]);
  if (!mosq) return;

  // One chain for both instances, started by the test: neither instance owns it, so killing one
  // cannot take the ledger down with it.
  const chainDir = tempDir('chain');
  ledger = createLocalLedger({ host: '127.0.0.1', port: 0, stateFile: join(chainDir, 'ledger.bin'), logger: createLogger('silent'), saveDebounceMs: 20 });
  await ledger.start();
  const keypair = join(chainDir, 'keys', 'mint-authority.json');
  await loadOrCreateKeypair(keypair);
  cliEnv = {
    NODE_ENV: 'test', DATABASE_URL: db.url, DATA_DIR: tempDir('cli'), SOLANA_RPC_URL: ledger.url, SOLANA_CLUSTER: 'localnet',
    MINT_AUTHORITY_KEYPAIR: keypair, LEDGER_PORT: '0', LOG_LEVEL: 'warn',
  };
  const init = await runCli(['token', 'init', '--json'], cliEnv);
  expect(init.code, init.stderr).toBe(0);
  mintAddress = (JSON.parse(init.stdout) as { mint: string }).mint;

  const shared = {
    ...cliEnv, MINT_ADDRESS: mintAddress, LOG_LEVEL: 'info', HTTP_PORT: '0', HTTP_HOST: '127.0.0.1',
    MQTT_URL: mosq.gatewayUrl, MQTT_USERNAME: 'gridmint-gateway', MQTT_PASSWORD: gatewayPassword, MQTT_SHARE_GROUP: `scale${tag}`,
    MQTT_SUBSCRIBER_CONNECTIONS: String(CONNECTIONS), MINT_ENABLED: 'true', MINT_SCHEDULE: '*/2 * * * * *', INGEST_BATCH_WAIT_MS: '2',
  };
  envA = { ...shared, DATA_DIR: tempDir('a'), MQTT_CLIENT_ID: `scale-${tag}-a` };
  envB = { ...shared, DATA_DIR: tempDir('b'), MQTT_CLIENT_ID: `scale-${tag}-b` };
  [a, b] = await Promise.all([start(envA), start(envB)]);
  for (const m of meters) clients.push(await connectMeter(mosq.url, m));
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await Promise.all(daemons.map((d) => d.kill('SIGKILL').catch(() => null)));
  await ledger?.stop().catch(() => {});
  await mosq?.stop();
  await db?.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('two gateways on one Mosquitto, one database and one chain', () => {
  it('SIGKILL of one instance mid-stream: every reading stored once and minted once, supply audit holds', { timeout: 90_000 }, async (ctx) => {
    if (!mosq) return ctx.skip();
    const t0 = Date.now();
    const mark: Record<string, number> = {};
    const at = (what: string) => (mark[what] = Date.now() - t0);

    expect(a.output()).toContain(`"clientId":"${envA.MQTT_CLIENT_ID}-0"`); // the process we kill is A
    // Any instance serves the API, on the same mint.
    for (const d of [a, b]) {
      const res = await fetch(`${d.urls.http}/api/tokens/info`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ mint_address: mintAddress, decimals: 9, cluster: 'localnet' });
    }

    // Distinct exact amounts (1.000000000 … 5.999999999 kWh), summed as bigint for the supply check.
    const plan = meters.map((m, mi) => ({
      client: clients[mi]!,
      topic: `meters/${m.id}/readings`,
      readings: Array.from({ length: PER_METER }, (_, i) => reading(m, { kwh_amount: `${1 + (i % 5)}.${String((i * 7_919 + mi) % 1e9).padStart(9, '0')}` })),
    }));
    const all: SignedReading[] = plan.flatMap((p) => p.readings);
    const expectedBaseUnits = all.reduce((s, r) => s + kwhToBaseUnits(r.kwh_amount), 0n);

    const stream = publishStream(plan, RATE);
    // Kill A once 40 % of the stream is out and both instances have committed readings.
    await until(() => stream.sent.length >= all.length * 0.4, 20_000, '40 % of the stream published');
    await until(async () => (await scrape(a.urls.http, 'gridmint_readings_accepted_total', 'transport="mqtt"')) > 0
      && (await scrape(b.urls.http, 'gridmint_readings_accepted_total', 'transport="mqtt"')) > 0, 10_000, 'both instances ingesting');
    const acceptedBeforeKill = {
      a: await scrape(a.urls.http, 'gridmint_readings_accepted_total', 'transport="mqtt"'),
      b: await scrape(b.urls.http, 'gridmint_readings_accepted_total', 'transport="mqtt"'),
    };
    await a.kill('SIGKILL');
    at('kill');
    const atKill = { published: stream.sent.length, stored: await stored() };
    expect(atKill.published).toBeLessThan(all.length); // the kill really landed mid-stream

    await stream.done;
    at('stream acknowledged by Mosquitto');
    expect(stream.acked.length).toBe(all.length);

    // What the survivor gets on its own: Mosquitto's share of the stream for B's sessions, plus
    // whatever it chooses to redeliver from A's dead sessions.
    const survivorStored = await settleAt(stored, all.length, 3_000, 20_000);
    at('survivor settled');
    const observation: Record<string, unknown> = { acceptedBeforeKill, atKill, survivorStored, missingWithoutA: all.length - survivorStored };
    // The survivor kept taking its share of the subscription after the kill.
    expect(survivorStored).toBeGreaterThan(atKill.stored);
    expect(await scrape(b.urls.http, 'gridmint_readings_accepted_total', 'transport="mqtt"')).toBeGreaterThan(acceptedBeforeKill.b);
    if (survivorStored < all.length) {
      // Mosquitto kept those messages in A's persistent sessions (the in-flight ones and any it
      // queued there after the kill): restarting A with the same client ids delivers them.
      const restartedAt = new Date();
      const a2 = await start(envA);
      at('A restarted');
      await until(async () => (await stored()) >= all.length, 20_000, 'readings held in the killed sessions');
      at('all stored after restart');
      const beforeKill = stream.sent.slice(0, atKill.published);
      observation.restartedA = {
        accepted: await scrape(a2.urls.http, 'gridmint_readings_accepted_total', 'transport="mqtt"'),
        duplicates: await scrape(a2.urls.http, 'gridmint_readings_duplicate_total'),
        // published before the kill: in flight to A, or queued for it, when it died
        heldFromBeforeKill: await count(db.pool, `SELECT 1 FROM meter_readings r JOIN unnest($1::text[], $2::timestamptz[]) AS p(m, t)
          ON r.meter_id = p.m AND r."timestamp" = p.t WHERE r.received_at >= $3`, [beforeKill.map((r) => r.meter_id), beforeKill.map((r) => r.timestamp), restartedAt]),
      };
    }
    observation.survivorDuplicates = await scrape(b.urls.http, 'gridmint_readings_duplicate_total');

    // Stored exactly once: the stored set is exactly the published set, signatures included.
    const storedCheck = await db.pool.query<{ stored: string; keys: string; matched: string; rejected: string }>(
      `SELECT (SELECT count(*) FROM meter_readings) AS stored,
              (SELECT count(DISTINCT (meter_id, "timestamp")) FROM meter_readings) AS keys,
              (SELECT count(*) FROM meter_readings r JOIN unnest($1::text[], $2::timestamptz[], $3::text[]) AS p(m, t, s)
                 ON r.meter_id = p.m AND r."timestamp" = p.t AND r.signature = p.s) AS matched,
              (SELECT count(*) FROM rejected_readings) AS rejected`,
      [all.map((r) => r.meter_id), all.map((r) => r.timestamp), all.map((r) => r.signature)],
    );
    expect(storedCheck.rows[0]).toEqual({ stored: String(all.length), keys: String(all.length), matched: String(all.length), rejected: '0' });

    // Minted exactly once: everything minted, by whichever instance holds the lock.
    await until(async () => (await count(db.pool, 'SELECT 1 FROM meter_readings WHERE NOT minted')) === 0
      && (await count(db.pool, "SELECT 1 FROM mint_outbox WHERE status IN ('pending', 'sent')")) === 0, 30_000, 'every reading minted');
    at('all minted');
    // Each minted reading points at a confirmed readings transaction with its signature …
    expect(await count(db.pool, `SELECT 1 FROM meter_readings r JOIN mint_outbox o ON o.id = r.mint_outbox_id
      WHERE NOT (o.status = 'confirmed' AND o.kind = 'readings' AND r.mint_tx_signature = o.signature)`)).toBe(0);
    // … and every confirmed transaction minted exactly what its readings add up to, per wallet: a
    // reading minted by a second transaction would leave the first with tokens no reading accounts for.
    expect(await count(db.pool, `
      WITH claimed AS (
        SELECT mint_outbox_id AS outbox_id, wallet_address, sum(kwh_amount * 1000000000) AS units
        FROM meter_readings GROUP BY 1, 2),
      sent AS (
        SELECT e.outbox_id, e.wallet_address, e.base_units AS units
        FROM mint_outbox_entries e JOIN mint_outbox o ON o.id = e.outbox_id WHERE o.status = 'confirmed')
      SELECT 1 FROM claimed c FULL JOIN sent s USING (outbox_id, wallet_address) WHERE c.units IS DISTINCT FROM s.units`)).toBe(0);
    const minted = await db.pool.query<{ units: string }>('SELECT sum(kwh_amount * 1000000000)::numeric(30,0)::text AS units FROM meter_readings WHERE minted');
    expect(BigInt(minted.rows[0]!.units)).toBe(expectedBaseUnits);

    // Any live instance reports the full supply.
    for (const d of daemons.filter((x) => x.child.exitCode === null && x.child.signalCode === null)) {
      const info = (await (await fetch(`${d.urls.http}/api/tokens/info`)).json()) as { supply_base_units: string };
      expect(info.supply_base_units).toBe(expectedBaseUnits.toString());
    }
    observation.mintRuns = {
      survivor: await scrape(b.urls.http, 'gridmint_mint_runs_total', 'result="success"'),
      outboxConfirmed: await count(db.pool, "SELECT 1 FROM mint_outbox WHERE status = 'confirmed'"),
      outboxExpiredOrFailed: await count(db.pool, "SELECT 1 FROM mint_outbox WHERE status IN ('expired', 'failed')"),
    };

    // The operator's audit, with every instance stopped.
    for (const d of daemons.filter((x) => x !== a)) expect(await d.kill('SIGTERM')).toBe(0); // clean stop
    const audit = await runCli(['token', 'audit', '--json'], { ...cliEnv, MINT_ADDRESS: mintAddress });
    at('audit');
    expect(audit.code, audit.stderr).toBe(0);
    expect(JSON.parse(audit.stdout)).toMatchObject({ ok: true, drift_base_units: '0', supply_base_units: expectedBaseUnits.toString(), unresolved_outbox: 0, inconsistent_readings: 0, wallets_checked: METERS });

    console.log(`[scale-out] ${JSON.stringify({ ...observation, ms: mark })}`);
    expect(acceptedBeforeKill.a).toBeGreaterThan(0);
    expect(acceptedBeforeKill.b).toBeGreaterThan(0);
  });
});
