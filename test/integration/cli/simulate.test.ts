import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';

const run = promisify(execFile);
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

/** `gridmint simulate … --json` as an operator runs it, against the gateway's database and broker. */
async function simulate(...args: string[]) {
  const env = { ...process.env, DATABASE_URL: t.db.url, DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  const r = await run('npx', ['tsx', 'src/cli/index.ts', 'simulate', '--json', '--broker', t.gateway.urls.mqtt!, ...args], { env, timeout: 60_000 });
  return JSON.parse(r.stdout) as { sent: number; acknowledged: number; unacknowledged: number; status: Record<string, number>; disconnects: number };
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
  });

  it('--bad forged-signature is refused with bad_signature and nothing is stored', async () => {
    const before = await t.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM meter_readings');
    const s = await simulate('--meters', '2', '--rate', '10', '--duration', '1', '--prefix', 'simtest-', '--bad', 'forged-signature');
    expect(s.sent).toBeGreaterThan(0);
    expect(s.status).toEqual({ bad_signature: s.sent });
    const after = await t.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM meter_readings');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    const q = await t.db.pool.query<{ n: string }>("SELECT count(*) AS n FROM rejected_readings WHERE reason = 'bad_signature'");
    expect(Number(q.rows[0]!.n)).toBe(s.sent);
  });
});
