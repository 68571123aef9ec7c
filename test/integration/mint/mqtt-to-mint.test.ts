import { Keypair } from '@solana/web3.js';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChainClient } from '../../../src/chain/client.js';
import { connectMeter, publish, reading, registerMeter, startTestGateway, type StatusMessage, type TestGateway, testLogger as logger, type TestMeter, until, watchStatus } from '../../harness/index.js';

/**
 * Issue 12 A4, end to end on real parts: signed readings published over MQTT to the embedded
 * broker, committed by the ingest pipeline, minted by the daemon's own scheduled batch job on
 * the embedded ledger (real SPL Token program), and the on-chain supply is exactly their sum.
 */
let gw: TestGateway;
const clients: MqttClient[] = [];

beforeAll(async () => {
  // Six-field cron: the daemon's own mint job runs every second, as it would every minute in production.
  gw = await startTestGateway({ MINT_ENABLED: true, MINT_SCHEDULE: '* * * * * *', SOLANA_CLUSTER: 'localnet', INGEST_VERIFY_WORKERS: 1 });
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  await gw?.stop();
});

/** Read from the ledger itself (the public info endpoint is rate limited; polling it would 429). */
async function supplyBaseUnits(): Promise<bigint> {
  const row = await gw.db.pool.query<{ mint_address: string }>('SELECT mint_address FROM token_mint');
  const chain = createChainClient({ rpcUrl: gw.gateway.urls.ledger!, payer: Keypair.generate(), logger });
  return row.rows[0] ? ((await chain.getMintInfo(row.rows[0].mint_address))?.supply ?? -1n) : -1n;
}

describe('signed MQTT publish → confirmed mint', () => {
  it('mints exactly the accepted readings, once, to each meter owner', { timeout: 120_000 }, async () => {
    const meters: TestMeter[] = [];
    for (let i = 0; i < 3; i++) meters.push(await registerMeter(gw.db.pool));
    const amounts = [['1.000000001', '2.5', '0.000000001'], ['99.999999999', '0.1'], ['0.2', '0.3', '7']];
    const expectedByOwner = new Map<string, bigint>([
      [meters[0]!.owner, 3_500_000_002n],
      [meters[1]!.owner, 100_099_999_999n],
      [meters[2]!.owner, 7_500_000_000n],
    ]);
    const statuses: StatusMessage[][] = [];
    for (const [i, m] of meters.entries()) {
      const c = await connectMeter(gw.gateway.urls.mqtt!, m);
      clients.push(c);
      statuses.push(await watchStatus(c, m.id));
      for (const kwh of amounts[i]!) {
        const r = reading(m, { kwh_amount: kwh });
        await publish(c, `meters/${m.id}/readings`, JSON.stringify(r));
        await publish(c, `meters/${m.id}/readings`, JSON.stringify(r)); // a resend: stored and minted once
      }
      // A forged reading (signature of other content) is acknowledged, quarantined, never minted.
      const forged = { ...reading(m, { kwh_amount: '50' }), kwh_amount: '60' };
      await publish(c, `meters/${m.id}/readings`, JSON.stringify(forged));
    }
    await until(() => statuses.every((s, i) => s.length === amounts[i]!.length * 2 + 1), 10_000, 'status for every publish');
    for (const [i, s] of statuses.entries()) {
      expect(s.filter((x) => x.outcome === 'accepted')).toHaveLength(amounts[i]!.length);
      expect(s.filter((x) => x.outcome === 'duplicate')).toHaveLength(amounts[i]!.length);
      expect(s.filter((x) => x.outcome === 'rejected').map((x) => x.reason)).toEqual(['bad_signature']);
    }

    const total = [...expectedByOwner.values()].reduce((a, b) => a + b, 0n);
    const unminted = async () => (await gw.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM meter_readings WHERE NOT minted')).rows[0]!.n;
    await until(async () => (await supplyBaseUnits()) === total && (await unminted()) === 0, 60_000, `on-chain supply of ${total} base units, every reading minted`);

    // Every accepted reading is minted by a confirmed transaction whose signature it records.
    const rows = await gw.db.pool.query<{ minted: boolean; sig_ok: boolean }>(
      `SELECT r.minted, (o.status = 'confirmed' AND o.signature = r.mint_tx_signature) AS sig_ok
       FROM meter_readings r LEFT JOIN mint_outbox o ON o.id = r.mint_outbox_id`,
    );
    expect(rows.rows).toHaveLength(8);
    expect(rows.rows.every((r) => r.minted && r.sig_ok)).toBe(true);
    const minted = await gw.db.pool.query<{ s: string }>("SELECT sum(kwh_amount)::text AS s FROM meter_readings WHERE minted");
    expect(minted.rows[0]!.s).toBe('111.100000001');

    // Each owner holds exactly the sum of its meter's readings, read from the chain.
    const mint = (await gw.db.pool.query<{ mint_address: string }>('SELECT mint_address FROM token_mint')).rows[0]!.mint_address;
    expect((await gw.gateway.app.inject({ method: 'GET', url: '/api/tokens/info' })).json()).toMatchObject({ mint_address: mint, supply_base_units: total.toString() });
    const chain = createChainClient({ rpcUrl: gw.gateway.urls.ledger!, payer: Keypair.generate(), logger });
    for (const [owner, units] of expectedByOwner) expect(await chain.getTokenBalance(mint, owner)).toBe(units);

    // Later scheduled runs find nothing more to mint: the supply stays exact.
    const emptyRuns = async () => {
      const text = (await gw.gateway.app.inject({ method: 'GET', url: '/metrics' })).body;
      return Number(/^gridmint_mint_runs_total\{result="empty"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const before = await emptyRuns();
    await until(async () => (await emptyRuns()) >= before + 2, 30_000, 'two more scheduled runs');
    expect(await supplyBaseUnits()).toBe(total);
  });
});
