import { Keypair } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePassword } from '../../../src/domain/credential.js';
import { cliWith, createCliWorkspace, registerRead, type CliWorkspace } from '../../harness/index.js';
import { generateMeterKey } from '../../../src/domain/sign.js';
import { storeRegisterMessages } from '../../../src/store/register-reads.js';
import { withTransaction } from '../../../src/store/pool.js';

let ws: CliWorkspace;

beforeAll(async () => {
  ws = await createCliWorkspace('cli-register');
});
afterAll(async () => {
  await ws?.drop();
});

const gridmint = cliWith(() => ({ ...ws.env, NODE_ENV: 'development', LOG_LEVEL: 'warn' }));

describe('gridmint meter add --reads register / meter rebase', () => {
  it('registers a register meter, shows its hold in meter list, and rebase ends it with who and why', async () => {
    const key = generateMeterKey();
    const owner = Keypair.generate().publicKey.toBase58();
    const add = await gridmint('meter', 'add', '--id', 'reg-1', '--wallet', owner, '--pubkey', key.publicKey, '--reads', 'register', '--max-kw', '10', '--json');
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({ id: 'reg-1', reads: 'register', format: 'json', max_kw: '10' });
    const bad = await gridmint('meter', 'add', '--id', 'reg-2', '--wallet', owner, '--pubkey', key.publicKey, '--reads', 'register', '--register-modulus', '0');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--register-modulus');

    // reads as the pipeline stores them: a drop at hour 2 puts the meter on hold
    const base = Date.UTC(2026, 10, 30, 0);
    const iso = (h: number) => new Date(base + h * 3_600_000).toISOString();
    const m = { id: 'reg-1', key, owner, password: generatePassword() };
    for (const [h, v] of [[0, '100'], [1, '105'], [2, '1'], [3, '3']] as const) {
      const r = registerRead(m, iso(h), v);
      await withTransaction(ws.db.pool, (c) => storeRegisterMessages(c, [{ idx: 0, meterId: m.id, wallet: owner, signature: r.signature, receivedAt: new Date(), reads: [{ timestamp: r.timestamp, registerKwh: r.register_kwh }], page: null, record: null }]));
    }
    const list = await gridmint('meter', 'list');
    expect(list.stdout).toContain(`ON HOLD since ${iso(2)}`);
    const rebase = await gridmint('meter', 'rebase', 'reg-1', '--at', iso(2), '--reason', 'installer reset the counter');
    expect(rebase.code, rebase.stderr).toBe(0);
    expect(rebase.stdout).toContain('the hold is resolved');
    const rows = await ws.db.pool.query(`SELECT trim_scale(kwh_amount)::text AS kwh, energy_state AS state FROM meter_readings WHERE meter_id = 'reg-1' ORDER BY "timestamp"`);
    expect(rows.rows).toEqual([{ kwh: '0', state: 'baseline' }, { kwh: '5', state: 'rise' }, { kwh: '0', state: 'rebase' }, { kwh: '2', state: 'rise' }]);
    const who = await ws.db.pool.query(`SELECT kind, resolved_by, reason FROM register_resolutions WHERE meter_id = 'reg-1'`);
    expect(who.rows).toEqual([{ kind: 'rebase', resolved_by: expect.stringMatching(/^cli:/), reason: 'installer reset the counter' }]);
    expect((await gridmint('meter', 'list')).stdout).not.toContain('ON HOLD');
  }, 240_000); // six CLI processes, each starting tsx, on a shared 2-core machine
});
