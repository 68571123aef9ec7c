import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { connectBytes, connectMeter, count, openRaw, publish, publishBytes, type RawClient, reading, registerMeter, startTestGateway, streamOversizedConnect, subscribeGranted, type TestGateway, type TestMeter, until } from '../../harness/index.js';

let t: TestGateway;
let url: string;
let meter: TestMeter;
let other: TestMeter;
const raws: RawClient[] = [];
const raw = async (u = url) => {
  const c = await openRaw(u);
  raws.push(c);
  return c;
};

async function refusals(gw: TestGateway, reason: string): Promise<number> {
  const text = await (await fetch(`${gw.gateway.urls.http}/metrics`)).text();
  const m = new RegExp(`^gridmint_mqtt_connections_refused_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

beforeAll(async () => {
  t = await startTestGateway({ INGEST_VERIFY_WORKERS: 0, MQTT_CONNECT_TIMEOUT_MS: 500 });
  url = t.gateway.urls.mqtt!;
  meter = await registerMeter(t.db.pool);
  other = await registerMeter(t.db.pool);
});
afterAll(async () => {
  for (const c of raws) c.socket.destroy();
  await t?.stop();
});

describe('embedded broker: packet size (MQTT_MAX_PACKET_BYTES, 16 KiB)', () => {
  it('closes an unauthenticated socket as soon as its CONNECT announces 256 MiB', async () => {
    const c = await raw();
    const sent = await streamOversizedConnect(c, 10 * 1024 * 1024);
    await c.closed;
    expect(c.received).toEqual([]); // never answered, never parsed
    expect(sent).toBeLessThanOrEqual(10 * 1024 * 1024);
    expect(await refusals(t, 'packet_too_large')).toBeGreaterThanOrEqual(1);
  });

  it("closes an authenticated meter's connection on an oversized publish and stores nothing of it", async () => {
    const c = await connectMeter(url, meter);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    const big = { ...reading(meter), padding: 'x'.repeat(20_000) };
    c.publish(`meters/${meter.id}/readings`, JSON.stringify(big), { qos: 1 }, () => {});
    await closed;
    c.end(true);
    expect(await count(t.db.pool, 'SELECT 1 FROM meter_readings WHERE signature = $1', [big.signature])).toBe(0);
    // a packet under the limit still works
    const again = await connectMeter(url, meter);
    const r = reading(meter);
    await publish(again, `meters/${meter.id}/readings`, JSON.stringify(r));
    expect(await count(t.db.pool, 'SELECT 1 FROM meter_readings WHERE signature = $1', [r.signature])).toBe(1);
    again.end(true);
  });

  it('bounds the bytes read before a CONNECT has authenticated by the same limit', async () => {
    // A CONNECT followed, in the same write, by publishes that are each under the limit but
    // together over it: refused before the broker even parses the CONNECT.
    const greedy = await raw();
    const body = Buffer.alloc(9_000, 0x20);
    greedy.socket.write(Buffer.concat([connectBytes({ clientId: meter.id, username: meter.id, password: meter.password }), publishBytes(`meters/${meter.id}/readings`, body, 1), publishBytes(`meters/${meter.id}/readings`, body, 2)]));
    await greedy.closed;
    expect(greedy.received.map((p) => p.cmd)).toEqual([]);
    expect(await refusals(t, 'pre_connect_bytes')).toBeGreaterThanOrEqual(1);

    // pipelining a small publish behind the CONNECT is fine
    const polite = await raw();
    const r = reading(meter);
    polite.socket.write(Buffer.concat([connectBytes({ clientId: meter.id, username: meter.id, password: meter.password }), publishBytes(`meters/${meter.id}/readings`, Buffer.from(JSON.stringify(r)), 7)]));
    await until(() => polite.received.some((p) => p.cmd === 'puback'), 10_000, 'PUBACK of the pipelined publish');
    expect(polite.received[0]).toMatchObject({ cmd: 'connack', returnCode: 0 });
    polite.socket.destroy();
  });
});

describe('embedded broker: CONNECT timeout (MQTT_CONNECT_TIMEOUT_MS)', () => {
  it('closes sockets that send nothing, or only part of a CONNECT, once the timeout passes', async () => {
    const before = await refusals(t, 'connect_timeout');
    const start = Date.now();
    const silent = await raw();
    const partial = await raw();
    partial.socket.write(connectBytes({ clientId: meter.id, username: meter.id, password: meter.password }).subarray(0, 10));
    await Promise.all([silent.closed, partial.closed]);
    expect(Date.now() - start).toBeGreaterThanOrEqual(450);
    expect(await refusals(t, 'connect_timeout')).toBeGreaterThanOrEqual(before + 2);
  });
});

describe('embedded broker: subscriptions and sessions', () => {
  it('grants only the own status topic, keeps no session, and so stores no refused filter', async () => {
    const opts = { clientId: meter.id, clean: false, resubscribe: false };
    const c = await connectMeter(url, meter, opts);
    expect(await subscribeGranted(c, [`meters/${meter.id}/status`, 'meters/#', `meters/${other.id}/status`, '#'])).toEqual([0, 128, 128, 128]);
    await c.endAsync();
    const again = mqtt.connect(url, { username: meter.id, password: meter.password, reconnectPeriod: 0, ...opts });
    const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
      again.once('connect', resolve);
      again.once('error', reject);
    });
    expect(connack.sessionPresent).toBe(false);
    // nothing was restored: the status of a first reading is not delivered; once the meter
    // subscribes again, the status of a second one is (the first would have come before it)
    const got: { timestamp: string }[] = [];
    again.on('message', (_topic, payload) => got.push(JSON.parse(payload.toString())));
    const first = reading(meter);
    await publish(again, `meters/${meter.id}/readings`, JSON.stringify(first));
    expect(await subscribeGranted(again, [`meters/${meter.id}/status`])).toEqual([0]);
    const second = reading(meter);
    await publish(again, `meters/${meter.id}/readings`, JSON.stringify(second));
    await until(() => got.some((s) => s.timestamp === second.timestamp), 10_000, 'status of the second reading');
    expect(got.map((s) => s.timestamp)).toEqual([second.timestamp]);
    again.end(true);
  });
});

describe('embedded broker: connection caps', () => {
  let capped: TestGateway;
  let cappedUrl: string;
  let metersOfCapped: TestMeter[];
  beforeAll(async () => {
    capped = await startTestGateway({ INGEST_VERIFY_WORKERS: 0, MQTT_MAX_CONNECTIONS: 5, MQTT_MAX_UNAUTHENTICATED_PER_IP: 3 });
    cappedUrl = capped.gateway.urls.mqtt!;
    metersOfCapped = [];
    for (let i = 0; i < 4; i++) metersOfCapped.push(await registerMeter(capped.db.pool));
  });
  afterAll(async () => capped?.stop());

  it('refuses a 4th unauthenticated connection from one address, not an authenticated one', async () => {
    const idle = [await raw(cappedUrl), await raw(cappedUrl), await raw(cappedUrl)];
    const fourth = await raw(cappedUrl);
    await fourth.closed; // at once, long before the 10 s CONNECT timeout
    expect(await refusals(capped, 'unauthenticated_per_ip')).toBeGreaterThanOrEqual(1);
    // the three waiting ones were kept: one authenticates, which frees its place
    const m = metersOfCapped[0]!;
    idle[0]!.socket.write(connectBytes({ clientId: m.id, username: m.id, password: m.password }));
    await until(() => idle[0]!.received.length > 0, 10_000, 'CONNACK');
    expect(idle[0]!.received[0]).toMatchObject({ cmd: 'connack', returnCode: 0 });
    const next = await connectMeter(cappedUrl, metersOfCapped[1]!);
    expect(next.connected).toBe(true);

    // MQTT_MAX_CONNECTIONS = 5: 3 raw + 1 meter = 4 open; one more fits, the one after does not
    const fifth = await connectMeter(cappedUrl, metersOfCapped[2]!);
    await expect(connectMeter(cappedUrl, metersOfCapped[3]!)).rejects.toThrow();
    expect(await refusals(capped, 'max_connections')).toBeGreaterThanOrEqual(1);
    fifth.end(true);
    next.end(true);
    for (const c of idle) c.socket.destroy();
    // room again once connections close
    await until(async () => {
      try {
        (await connectMeter(cappedUrl, metersOfCapped[3]!)).end(true);
        return true;
      } catch {
        return false;
      }
    }, 10_000, 'a connection accepted again');
  });
});
