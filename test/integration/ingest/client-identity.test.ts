import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMeter, count, publish, reading, registerMeter, startTestGateway, type TestGateway, type TestMeter } from '../../harness/index.js';

let t: TestGateway;
let url: string;
let a: TestMeter;
let b: TestMeter;

beforeAll(async () => {
  t = await startTestGateway({ INGEST_VERIFY_WORKERS: 0 });
  url = t.gateway.urls.mqtt!;
  a = await registerMeter(t.db.pool);
  b = await registerMeter(t.db.pool);
});
afterAll(async () => t?.stop());

const stored = (sig: string) => count(t.db.pool, 'SELECT 1 FROM meter_readings WHERE signature = $1', [sig]);

describe('embedded broker: a meter’s client id is its meter id', () => {
  it("refuses a meter presenting another meter's client id (CONNACK 2); the victim stays connected", async () => {
    const victim = await connectMeter(url, b);
    let victimClosed = false;
    victim.on('close', () => (victimClosed = true));
    try {
      for (let i = 0; i < 3; i++) {
        await expect(connectMeter(url, a, { clientId: b.id })).rejects.toMatchObject({ code: 2 });
      }
      await expect(connectMeter(url, a, { clientId: `${a.id}-laptop` })).rejects.toMatchObject({ code: 2 });
      await expect(connectMeter(url, a, { clientId: 'gridmint-gateway-0' })).rejects.toMatchObject({ code: 2 });
      const r = reading(b);
      await publish(victim, `meters/${b.id}/readings`, JSON.stringify(r)); // acknowledged on the original connection
      expect(victimClosed).toBe(false);
      expect(await stored(r.signature)).toBe(1);
    } finally {
      victim.end(true);
    }
  });

  it('gives an empty client id the meter id (so a second such connection replaces the first)', async () => {
    const first = await connectMeter(url, a, { clientId: '', clean: true });
    const firstClosed = new Promise<void>((r) => first.once('close', () => r()));
    const r = reading(a);
    await publish(first, `meters/${a.id}/readings`, JSON.stringify(r));
    expect(await stored(r.signature)).toBe(1);
    // the same meter reconnecting under its own id takes its session over, as MQTT requires
    const second = await connectMeter(url, a, { clientId: a.id });
    await firstClosed;
    const r2 = reading(a);
    await publish(second, `meters/${a.id}/readings`, JSON.stringify(r2));
    expect(await stored(r2.signature)).toBe(1);
    second.end(true);
    first.end(true);
  });
});
