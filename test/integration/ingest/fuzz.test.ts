import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { REJECT_REASONS } from '../../../src/domain/reasons.js';
import { signReading } from '../../../src/domain/sign.js';
import { connectMeter, count, publish, publishRawTopic, reading, registerMeter, startTestGateway, type TestGateway, type TestMeter } from '../../harness/index.js';

// Issue 8 §9: hostile input of every shape, generated. After each class: an honest meter is
// still acknowledged within 5 s, nothing hostile is stored as a reading, and everything refused
// is in quarantine or was refused before storage. Run counts keep the file well under a minute;
// a failure prints the fast-check seed and the shrunk counterexample to replay it.

let t: TestGateway;
let hostile: TestMeter;
/** publishes to generated topics over fresh connections (so it never competes with a live session) */
let roamer: TestMeter;
let honest: TestMeter;
let hostileClient: MqttClient;
let honestClient: MqttClient;

beforeAll(async () => {
  t = await startTestGateway({ INGEST_VERIFY_WORKERS: 1 });
  hostile = await registerMeter(t.db.pool);
  roamer = await registerMeter(t.db.pool);
  honest = await registerMeter(t.db.pool);
  hostileClient = await connectMeter(t.gateway.urls.mqtt!, hostile);
  honestClient = await connectMeter(t.gateway.urls.mqtt!, honest);
});
afterAll(async () => {
  hostileClient?.end(true);
  honestClient?.end(true);
  await t?.stop();
});

const readingsTopic = () => `meters/${hostile.id}/readings`;
// Only hostile input is ever refused here (the honest meter sends valid readings), so all of the quarantine counts.
const quarantined = () => count(t.db.pool, 'SELECT 1 FROM rejected_readings');
const storedFromHostile = () => count(t.db.pool, 'SELECT 1 FROM meter_readings WHERE meter_id = ANY($1::text[])', [[hostile.id, roamer.id]]);

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The three checks that follow every class. `legitimate` = hostile-meter readings a class may store. */
async function gatewayStillHonest(legitimate = 0): Promise<void> {
  const r = reading(honest);
  await withDeadline(publish(honestClient, `meters/${honest.id}/readings`, JSON.stringify(r)), 5_000, 'honest reading not acknowledged within 5 s');
  expect(await count(t.db.pool, 'SELECT 1 FROM meter_readings WHERE signature = $1', [r.signature])).toBe(1);
  expect(await storedFromHostile()).toBe(legitimate);
  // nothing that reached a text column holds NUL, a control character or a lone surrogate unescaped
  const dirty = await count(t.db.pool, String.raw`SELECT 1 FROM rejected_readings WHERE topic ~ '[\x01-\x1f\x7f]' OR detail ~ '[\x01-\x1f\x7f]' OR meter_id ~ '[\x01-\x1f\x7f]'`);
  expect(dirty).toBe(0);
}

async function post(body: Uint8Array<ArrayBuffer> | string, contentType: string): Promise<{ status: number; code: string | null }> {
  const res = await fetch(`${t.gateway.urls.http}/api/meters/submit-reading`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const json = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: json.error?.code ?? null };
}

/** The reading with one field replaced, signed when the signer can canonicalise it (not a lone surrogate). */
function signedOrNot(fields: Omit<ReturnType<typeof reading>, 'signature'>, name: string, value: string, signature: string) {
  const changed = { ...fields, [name]: value } as typeof fields;
  try {
    return signReading(hostile.key, changed);
  } catch {
    return { ...changed, signature };
  }
}

// Any string, weighted towards what breaks text handling: NUL, C0/C1 controls, lone surrogates, emoji.
const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.array(fc.constantFrom('\u0000', '\u0001', '\u001b', '\u007f', '\u0085', '\ud800', '\udfff', '🔋', '\\', '"', '/', '+', '#', 'a'), { maxLength: 12 }).map((a) => a.join('')),
  fc.string({ unit: 'grapheme-ascii', maxLength: 80 }),
);

describe('fuzz: hostile input never stalls, never stores, never goes unaccounted', () => {
  it('topics: any bytes on any topic are forbidden_topic (or refused by the broker) and close the connection', async () => {
    const topic = fc.oneof(
      { arbitrary: fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)), weight: 3 },
      { arbitrary: hostileString.map((s) => Buffer.from(`meters/${s}/readings`)), weight: 3 },
      { arbitrary: hostileString.map((s) => Buffer.from(`meters/${roamer.id}/readings${s}`)), weight: 2 },
      { arbitrary: fc.integer({ min: 1_000, max: 65_535 }).map((n) => Buffer.alloc(n, 0x2f)), weight: 1 },
    );
    await fc.assert(
      fc.asyncProperty(topic, async (bytes) => {
        const text = bytes.toString('utf8');
        fc.pre(text !== `meters/${roamer.id}/readings`);
        const before = await quarantined();
        const answer = await publishRawTopic(t.gateway.urls.mqtt!, { username: roamer.id, password: roamer.password }, bytes, Buffer.from(JSON.stringify(reading(roamer))));
        expect(answer).toBe('closed');
        const added = (await quarantined()) - before;
        // aedes itself drops a PUBLISH with an empty or wildcard topic or > 100 levels before any hook
        const refusedByBroker = text.length === 0 || /[#+]/.test(text) || text.split('/').length > 100;
        expect(added).toBe(refusedByBroker ? 0 : 1);
      }),
      { numRuns: 60 },
    );
    await gatewayStillHonest();
  }, 60_000);

  it('payload bytes: anything on the own topic is acknowledged and quarantined byte for byte', async () => {
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc.uint8Array({ minLength: 4_000, maxLength: 5_000 }),
      hostileString.map((s) => new TextEncoder().encode(s)),
    );
    await fc.assert(
      fc.asyncProperty(payload, async (bytes) => {
        const raw = Buffer.from(bytes);
        await withDeadline(publish(hostileClient, readingsTopic(), raw), 5_000, 'publish not acknowledged');
        const q = await t.db.pool.query<{ raw: Buffer; raw_size: number; reason: string }>('SELECT raw, raw_size, reason FROM rejected_readings ORDER BY id DESC LIMIT 1');
        expect(q.rows[0]!.raw_size).toBe(raw.length);
        expect(q.rows[0]!.raw.equals(raw)).toBe(true); // whole: quarantine keeps up to 64 KiB byte for byte
        expect(REJECT_REASONS).toContain(q.rows[0]!.reason);
      }),
      { numRuns: 80 },
    );
    await gatewayStillHonest();
  }, 60_000);

  it('JSON shapes: any JSON value over MQTT or HTTP is refused with a reason and quarantined', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), fc.boolean(), async (value, overHttp) => {
        const body = JSON.stringify(value) ?? 'null';
        const before = await quarantined();
        const beforeHttp = await count(t.db.pool, "SELECT 1 FROM rejected_readings WHERE source = 'http'");
        if (overHttp) {
          const res = await post(body, 'application/json');
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          expect(REJECT_REASONS).toContain(res.code);
          expect(await count(t.db.pool, "SELECT 1 FROM rejected_readings WHERE source = 'http'")).toBe(beforeHttp + 1);
        } else {
          await withDeadline(publish(hostileClient, readingsTopic(), body), 5_000, 'publish not acknowledged');
          expect(await quarantined()).toBe(before + 1);
        }
      }),
      { numRuns: 80 },
    );
    await gatewayStillHonest();
  }, 60_000);

  let legitimate = 0;
  it('field contents: a signed reading with any field replaced is stored only when every field is valid', async () => {
    const field = fc.constantFrom('meter_id', 'timestamp', 'kwh_amount', 'wallet_address', 'signature', 'extra');
    await fc.assert(
      fc.asyncProperty(field, hostileString, fc.boolean(), async (name, value, overHttp) => {
        const base = reading(hostile);
        const { signature: _, ...fields } = base;
        const mutated = name === 'signature' ? { ...base, signature: value } : signedOrNot(fields, name, value, base.signature);
        const body = JSON.stringify(mutated);
        const before = await quarantined();
        const storedBefore = await storedFromHostile();
        if (overHttp) {
          const res = await post(body, 'application/json');
          expect([201, 400, 401, 403, 404, 409, 413, 422]).toContain(res.status);
        } else {
          await withDeadline(publish(hostileClient, readingsTopic(), body), 5_000, 'publish not acknowledged');
        }
        const stored = (await storedFromHostile()) - storedBefore;
        const refused = (await quarantined()) - before;
        expect(stored + refused).toBe(1); // every message accounted for
        if (stored) {
          // only a reading that is valid in every field gets in (e.g. kwh_amount "7")
          legitimate++;
          const row = await t.db.pool.query('SELECT wallet_address, signature FROM meter_readings WHERE signature = $1', [mutated.signature]);
          expect(row.rows).toEqual([{ wallet_address: hostile.owner, signature: mutated.signature }]);
        }
      }),
      { numRuns: 100 },
    );
    await gatewayStillHonest(legitimate);
  }, 60_000);

  it('HTTP content types: anything but application/json is refused 415 before ingestion', async () => {
    const type = fc.oneof(
      fc.constantFrom('text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/jsonx', 'json', '*/*', 'application/*', 'application/json-patch+json', 'text/json'),
      fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 60 }).filter((s) => /^[\x21-\x7e][\x20-\x7e]*$/.test(s)),
    );
    await fc.assert(
      fc.asyncProperty(type, fc.uint8Array({ maxLength: 300 }), async (contentType, junk) => {
        fc.pre(!/^\s*application\/json\s*(;|$)/i.test(contentType));
        const before = await quarantined();
        const valid = await post(JSON.stringify(reading(hostile)), contentType);
        const random = await post(new Uint8Array(junk), contentType);
        for (const res of [valid, random]) expect(res).toEqual({ status: 415, code: 'unsupported_media_type' });
        expect(await quarantined()).toBe(before); // refused before ingestion: nothing to quarantine
      }),
      { numRuns: 80 },
    );
    await gatewayStillHonest(legitimate);
  }, 60_000);
});
