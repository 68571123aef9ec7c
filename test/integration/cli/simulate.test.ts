import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli, startMosquitto, startTestGateway, type TestGateway } from '../../harness/index.js';
import { mosquittoPasswordLines } from '../../../src/store/meters.js';

let t: TestGateway;
let dataDir: string;

beforeAll(async () => {
  t = await startTestGateway({ MINT_ENABLED: false });
  dataDir = mkdtempSync(join(tmpdir(), 'gridmint-simulate-'));
});
afterAll(async () => {
  await t?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const cliEnv = () => ({ DATABASE_URL: t.db.url, DATA_DIR: dataDir, LOG_LEVEL: 'warn' });

/** `gridmint … --json` as an operator runs it, against the gateway's database; stdout parsed. */
async function gridmint<T>(...args: string[]): Promise<T> {
  const r = await runCli([...args, '--json'], cliEnv(), { timeoutMs: 170_000 });
  if (r.code !== 0) throw new Error(`gridmint ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return json<T>(r);
}

type Summary = { sent: number; acknowledged: number; unacknowledged: number; status: Record<string, number>; disconnects: number };

/** `gridmint simulate … --json` against the gateway's broker (unless --broker is given again). */
async function simulate(...args: string[]) {
  return gridmint<Summary>('simulate', '--broker', t.gateway.urls.mqtt!, ...args);
}

/** A CLI run expected to fail: its exit code and stderr. */
async function failing(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  const r = await runCli(args, cliEnv(), { timeoutMs: 170_000 });
  if (r.code === 0) throw new Error(`gridmint ${args.join(' ')} succeeded`);
  return r;
}

describe('gridmint simulate', () => {
  it('provisions meters, publishes signed readings, and every one is acknowledged and stored', async () => {
    const s = await simulate('--meters', '3', '--rate', '30', '--duration', '2', '--prefix', 'simtest-');
    expect(s.sent).toBeGreaterThanOrEqual(40);
    expect(s.acknowledged).toBe(s.sent);
    expect(s.status).toEqual({ accepted: s.sent });
    expect(s.disconnects).toBe(0);
    const rows = await t.db.pool.query<{ n: string }>("SELECT count(*) AS n FROM meter_readings WHERE meter_id LIKE 'simtest-%'");
    expect(Number(rows.rows[0]!.n)).toBe(s.sent);
  }, 180_000);

  it('--bad forged-signature is refused with bad_signature and nothing is stored', async () => {
    const before = await t.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM meter_readings');
    const s = await simulate('--meters', '2', '--rate', '10', '--duration', '1', '--prefix', 'simtest-', '--bad', 'forged-signature');
    expect(s.sent).toBeGreaterThan(0);
    expect(s.status).toEqual({ bad_signature: s.sent });
    const after = await t.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM meter_readings');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    const q = await t.db.pool.query<{ n: string }>("SELECT count(*) AS n FROM rejected_readings WHERE reason = 'bad_signature'");
    expect(Number(q.rows[0]!.n)).toBe(s.sent);
  }, 180_000);

  it('against a broker with no gateway behind it: exit 1, "no status replies: wrong broker or port?"', async () => {
    // the simtest- meters exist (first test); a Mosquitto that knows their passwords but has no gridmint
    const mosquitto = await startMosquitto(await mosquittoPasswordLines(t.db.pool));
    expect(mosquitto, 'the mosquitto binary is needed for this test').not.toBeNull();
    try {
      const r = await failing('simulate', '--broker', mosquitto!.url, '--meters', '3', '--rate', '10', '--duration', '1', '--prefix', 'simtest-');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^gridmint: no status replies: wrong broker or port\? mqtt:\/\/127\.0\.0\.1:\d+ acknowledged \d+ of \d+ readings/);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    } finally {
      await mosquitto?.stop();
    }
  }, 180_000);

  it('keygen --name, meter add, simulate --meter: readings as the meter the operator registered', async () => {
    const [meterKey, owner] = await Promise.all([
      gridmint<{ public_key: string; keypair_path: string }>('keygen', '--name', 'house-7'),
      gridmint<{ public_key: string; keypair_path: string }>('keygen', '--name', 'owner-of-house-7'),
    ]);
    expect(meterKey.keypair_path).toBe(join(dataDir, 'keys', 'meters', 'house-7.json'));
    expect(statSync(meterKey.keypair_path).mode & 0o777).toBe(0o600);
    const added = await gridmint<{ mqtt_password: string }>('meter', 'add', '--id', 'house-7', '--wallet', owner.public_key, '--pubkey', meterKey.public_key);

    const s = await simulate('--meter', 'house-7', '--password', added.mqtt_password, '--rate', '5', '--duration', '1');
    expect(s.sent).toBeGreaterThan(0);
    expect(s.status).toEqual({ accepted: s.sent });
    const rows = await t.db.pool.query<{ n: string; wallet: string }>(
      "SELECT count(*) AS n, min(wallet_address) AS wallet FROM meter_readings WHERE meter_id = 'house-7'",
    );
    expect(Number(rows.rows[0]!.n)).toBe(s.sent);
    expect(rows.rows[0]!.wallet).toBe(owner.public_key);

    // someone else's key is refused before anything is sent
    const wrong = await failing('simulate', '--broker', t.gateway.urls.mqtt!, '--meter', 'house-7', '--key', owner.keypair_path, '--password', added.mqtt_password);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`but meter house-7 is registered with ${meterKey.public_key}`);
  }, 600_000);
});
