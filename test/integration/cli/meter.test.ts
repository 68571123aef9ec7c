import { Keypair } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliWith, createCliWorkspace, type CliWorkspace } from '../../harness/index.js';

let ws: CliWorkspace;

beforeAll(async () => {
  ws = await createCliWorkspace('cli-meter');
});
afterAll(async () => {
  await ws?.drop();
});

const gridmint = cliWith(() => ({ ...ws.env, NODE_ENV: 'development', LOG_LEVEL: 'warn' }));

const key = () => Keypair.generate().publicKey.toBase58();

describe('gridmint meter add / list: interval and rated power', () => {
  it('registers a meter with --interval-seconds and --max-kw and lists both', async () => {
    const add = await gridmint('meter', 'add', '--id', 'roof-5', '--wallet', key(), '--pubkey', key(), '--interval-seconds', '300', '--max-kw', '25.5', '--json');
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({ id: 'roof-5', interval_seconds: 300, max_kw: '25.5', max_kwh_per_interval: '2.125' });
    const dflt = await gridmint('meter', 'add', '--id', 'roof-6', '--wallet', key(), '--pubkey', key());
    expect(dflt.stdout).toContain('every 900 s, at most 400 kW = 100 kWh per reading');
    const list = await gridmint('meter', 'list', '--json');
    expect(JSON.parse(list.stdout).map((m: { id: string; interval_seconds: number; max_kw: string }) => [m.id, m.interval_seconds, m.max_kw])).toEqual([
      ['roof-5', 300, '25.5'],
      ['roof-6', 900, '400'],
    ]);
    expect((await gridmint('meter', 'list')).stdout).toMatch(/roof-5\tactive\t\S+\t300 s\t25\.5 kW \(2\.125 kWh\/reading\)/);
  }, 240_000); // each command is a fresh tsx process

  it('refuses intervals that do not divide a day, a zero rating, the retired --max-kwh and reserved ids', async () => {
    for (const [args, message] of [
      [['--interval-seconds', '7'], /--interval-seconds: interval must be a whole number of seconds that divides 86400/],
      [['--interval-seconds', '1.5'], /--interval-seconds/],
      [['--max-kw', '0'], /--max-kw: max kW must be greater than 0/],
      [['--max-kwh', '100'], /--max-kwh was retired: give the rated power with --max-kw/],
    ] as const) {
      const r = await gridmint('meter', 'add', '--id', 'bad-1', '--wallet', key(), '--pubkey', key(), ...args);
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toMatch(message);
    }
    const reserved = await gridmint('meter', 'add', '--id', 'gridmint-host-0', '--wallet', key(), '--pubkey', key());
    expect(reserved.stderr).toMatch(/reserved for the gateway/);
    expect((await ws.db.pool.query("SELECT count(*)::int AS n FROM meters WHERE id IN ('bad-1', 'gridmint-host-0')")).rows[0].n).toBe(0);
  }, 240_000);

  it('meter set moves an existing meter to its real interval and rating (e.g. after migration 005)', async () => {
    const add = await gridmint('meter', 'add', '--id', 'roof-9', '--wallet', key(), '--pubkey', key(), '--json');
    expect(add.code, add.stderr).toBe(0);
    const set = await gridmint('meter', 'set', 'roof-9', '--interval-seconds', '300', '--json');
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ id: 'roof-9', interval_seconds: 300, max_kw: '400', max_kwh_per_interval: '33.333333333' });
    const kw = await gridmint('meter', 'set', 'roof-9', '--max-kw', '12', '--json');
    expect(JSON.parse(kw.stdout)).toMatchObject({ interval_seconds: 300, max_kw: '12', max_kwh_per_interval: '1' });
    for (const args of [['--interval-seconds', '7'], ['--max-kw', '0'], []]) {
      const r = await gridmint('meter', 'set', 'roof-9', ...args);
      expect(r.code, r.stdout).not.toBe(0);
    }
    expect((await gridmint('meter', 'set', 'no-such-meter', '--max-kw', '5')).stderr).toMatch(/no meter no-such-meter/);
    const row = await ws.db.pool.query("SELECT interval_seconds, max_kw::text AS max_kw FROM meters WHERE id = 'roof-9'");
    expect(row.rows[0]).toEqual({ interval_seconds: 300, max_kw: '12.000000000' });
  }, 240_000);
});
