import type pg from 'pg';
import { baseUnitsToKwh, kwhToBaseUnits } from '../domain/kwh.js';
import type { Stored } from '../domain/outcome.js';
import type { RegisterNote } from '../domain/reasons.js';
import { deriveEnergy, insertRead, type RegisterRead } from '../domain/register.js';
import { loadChains, type MeterChain } from './register-chain.js';

/** One verified message of a register meter (register JSON: one read; OCMF: one per RD entry). */
export interface RegisterMessage {
  idx: number;
  meterId: string;
  wallet: string;
  signature: string;
  receivedAt: Date;
  reads: { timestamp: string; registerKwh: string }[];
  page: { type: 'T' | 'F'; counter: number } | null;
  record: Buffer | null;
}

interface Placed {
  msg: RegisterMessage;
  keys: string[];
  notes: RegisterNote[];
}

/**
 * Stores register reads inside the batch's transaction: lock the meters, load each chain, place
 * every message's reads in arrival order (a message is all or nothing), then write the new reads,
 * the energies that changed (only ever of unfrozen reads) and each meter's hold state.
 */
export async function storeRegisterMessages(c: pg.PoolClient, msgs: RegisterMessage[]): Promise<Map<number, Stored>> {
  const out = new Map<number, Stored>();
  if (msgs.length === 0) return out;
  const earliest = new Map<string, number>();
  for (const m of msgs) for (const r of m.reads) {
    const t = Date.parse(r.timestamp);
    earliest.set(m.meterId, Math.min(earliest.get(m.meterId) ?? t, t));
  }
  const chains = await loadChains(c, earliest);
  const pages = await pageFacts(c, msgs);
  const placed: Placed[] = [];
  const batchPages = new Set<string>();
  const duplicates: { idx: number; key: string }[] = [];
  for (const m of msgs) {
    const chain = chains.get(m.meterId);
    if (!chain) {
      out.set(m.idx, { ok: false, reason: 'invalid_payload', detail: `meter ${m.meterId} is not registered for register reads` });
      continue;
    }
    const before = chain.window;
    const r = place(chain, m);
    if ('refused' in r) {
      out.set(m.idx, r.refused);
      continue;
    }
    const notes: RegisterNote[] = [];
    if (m.page) {
      const k = `${m.meterId}|${m.page.type}|${m.page.counter}`;
      const seen = batchPages.has(k) || pages.get(m.idx)?.stored === true;
      // A page counter seen before may only come again as a copy of what it carried (a
      // redelivery, or the same reads signed again): anything new under it is refused.
      if (seen && r.keys.length > 0) {
        chain.window = before;
        out.set(m.idx, { ok: false, reason: 'ocmf_page_repeat', detail: `page ${m.page.type}${m.page.counter} was already received with other reads` });
        continue;
      }
      const prevInBatch = batchPages.has(`${m.meterId}|${m.page.type}|${m.page.counter - 1}`);
      const f = pages.get(m.idx);
      if (!seen && f && !f.hasPrev && !prevInBatch && f.hasOlder) notes.push('ocmf_page_gap');
      if (r.keys.length > 0) batchPages.add(k);
    }
    if (r.keys.length === 0) {
      duplicates.push({ idx: m.idx, key: r.existing! });
      continue;
    }
    placed.push({ msg: m, keys: r.keys, notes });
  }
  const reads = readsByKey(chains.values());
  const ids = await writeChains(c, [...chains.values()], placed, reads);
  // a copy of a read placed earlier in this batch points at its new id
  for (const d of duplicates) out.set(d.idx, { ok: true, outcome: 'duplicate', readingId: ids.get(d.key) ?? d.key, detail: null, notes: [] });
  const holds = new Map<string, ReturnType<typeof deriveEnergy>['holdStart']>(); // once per meter, not per message
  for (const p of placed) {
    const chain = chains.get(p.msg.meterId)!;
    for (const key of p.keys) {
      const read = reads.get(key)!;
      if (read.state === 'late') p.notes.push('late_read');
      if (read.state === 'rollover') p.notes.push('rollover');
    }
    if (!holds.has(chain.meterId)) holds.set(chain.meterId, deriveEnergy(chain.start, chain.window, chain.rules, chain.resolutions).holdStart);
    const hold = holds.get(chain.meterId);
    if (hold && p.keys.includes(hold.key) && chain.holdReadingId === null) p.notes.push('register_regression');
    const notes = [...new Set(p.notes)];
    out.set(p.msg.idx, { ok: true, outcome: 'accepted', readingId: ids.get(p.keys[0]!)!, detail: notes.join(', ') || null, notes });
  }
  return out;
}

/**
 * Places one message's reads into its chain; on any refusal the chain is left as it was.
 * A read at a stored time is judged by its value, never by its signature bytes: ECDSA signatures
 * are malleable (s ↔ n − s) and re-signing gives a new valid one, so the same value is a copy and
 * a different value a conflict. A message is all new or all copies: one that repeats a stored read
 * beside new ones is refused whole, so a record can never be half-stored and earn from the rest.
 */
function place(chain: MeterChain, m: RegisterMessage): { keys: string[]; existing: string | null } | { refused: Stored } {
  const before = chain.window;
  const keys: string[] = [];
  let existing: string | null = null;
  let repeatedAt: string | null = null;
  const refuse = (reason: 'conflict' | 'implausible_energy' | 'ocmf_read_repeat', detail: string): { refused: Stored } => {
    chain.window = before;
    return { refused: { ok: false, reason, detail } };
  };
  for (const [n, r] of m.reads.entries()) {
    const tsMs = Date.parse(r.timestamp);
    const key = `new:${m.idx}:${n}`;
    const register = kwhToBaseUnits(r.registerKwh);
    const res = insertRead(chain.start, chain.window, { key, tsMs, register }, chain.rules, chain.resolutions);
    if (res.kind === 'duplicate') {
      if (res.existing.register !== register) return refuse('conflict', `a different read is stored for ${m.meterId} at ${r.timestamp}`);
      existing ??= res.existing.key;
      repeatedAt ??= r.timestamp;
      continue;
    }
    if (res.kind === 'implausible') return refuse('implausible_energy', `read at ${r.timestamp}: ${res.detail}`);
    chain.window = res.derivation.reads;
    keys.push(key);
  }
  if (existing !== null && keys.length > 0) {
    return refuse('ocmf_read_repeat', `the read at ${repeatedAt} is already stored; the record's other ${keys.length} read(s) are new`);
  }
  return { keys, existing };
}

/**
 * Epoch milliseconds (bigint) → timestamptz, exactly: 1000 µs × ms stays below 2^53 (until the
 * year 2255), so the float factor of interval × number loses nothing. Times go out as numbers
 * because formatting an ISO string per read cost more than the rest of its row's parameters.
 */
const fromMs = (col: string) => `timestamptz 'epoch' + ${col} * interval '1 millisecond'`;

/**
 * The batch's writes in one round trip: energies a new read changed (only ever of unfrozen reads:
 * the rows are locked by loadChains, so `updated` falls short only if that invariant is broken),
 * the new reads, and OCMF page counters. Data-modifying CTEs all run to completion whether read or
 * not; they touch different rows. A prepared statement (name): parsed and planned once per connection.
 */
const WRITE_CHAINS = {
  name: 'gridmint-register-write-chains',
  text: `WITH upd AS (
    UPDATE meter_readings m SET kwh_amount = v.kwh, energy_state = v.state, span_start = v.span, updated_at = now()
      FROM (SELECT id, kwh, state, ${fromMs('span_ms')} AS span
              FROM unnest($1::bigint[], $2::numeric[], $3::text[], $4::bigint[]) AS u(id, kwh, state, span_ms)) v
     WHERE m.id = v.id AND NOT m.minted AND m.mint_outbox_id IS NULL AND m.certificate_id IS NULL
     RETURNING 1),
  ins AS (
    INSERT INTO meter_readings (meter_id, wallet_address, kwh_amount, "timestamp", signature, received_at,
                                register_kwh, span_start, energy_state, source_record)
    SELECT meter_id, wallet, kwh, ${fromMs('ts')}, sig, ${fromMs('received')}, register, ${fromMs('span')}, state, record
      FROM unnest($5::text[], $6::text[], $7::numeric[], $8::bigint[], $9::text[], $10::bigint[],
                  $11::numeric[], $12::bigint[], $13::text[], $14::bytea[])
        AS t(meter_id, wallet, kwh, ts, sig, received, register, span, state, record)
    RETURNING id, meter_id, "timestamp"),
  pages AS (
    INSERT INTO ocmf_pages (meter_id, page_type, counter, signature, received_at)
    SELECT meter_id, page_type, counter, sig, ${fromMs('received')}
      FROM unnest($15::text[], $16::text[], $17::bigint[], $18::text[], $19::bigint[]) AS p(meter_id, page_type, counter, sig, received)
    ON CONFLICT DO NOTHING)
  SELECT id::text, meter_id, (extract(epoch FROM "timestamp") * 1000)::float8 AS ts_ms, NULL::bigint AS updated FROM ins
  UNION ALL SELECT NULL, NULL, NULL, count(*) FROM upd`,
};

/** Every read of the chains by key (new reads' keys are unique across the batch). */
function readsByKey(chains: Iterable<MeterChain>): Map<string, RegisterRead> {
  const m = new Map<string, RegisterRead>();
  for (const ch of chains) for (const r of ch.window) m.set(r.key, r);
  return m;
}

/** Inserts placed reads, updates changed energies and the meters' hold state; returns key → id. */
export async function writeChains(c: pg.PoolClient, chains: MeterChain[], placed: Placed[], reads = readsByKey(chains)): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const fresh: { key: string; msg: RegisterMessage; read: RegisterRead }[] = [];
  for (const p of placed) for (const key of p.keys) fresh.push({ key, msg: p.msg, read: reads.get(key)! });
  const changed: RegisterRead[] = [];
  for (const chain of chains) {
    if (chain.loaded.size === 0) continue;
    for (const r of chain.window) {
      const was = chain.loaded.get(r.key);
      if (was && (was.energy !== r.energy || was.state !== r.state || was.spanStartMs !== r.spanStartMs)) changed.push(r);
    }
  }
  const pages = placed.filter((p) => p.msg.page);
  if (fresh.length || changed.length || pages.length) {
    const w = await c.query<{ id: string | null; meter_id: string | null; ts_ms: number | null; updated: string | null }>({
      ...WRITE_CHAINS,
      values: [
        changed.map((r) => r.key), changed.map((r) => baseUnitsToKwh(r.energy)), changed.map((r) => r.state), changed.map((r) => r.spanStartMs),
        fresh.map((f) => f.msg.meterId), fresh.map((f) => f.msg.wallet), fresh.map((f) => baseUnitsToKwh(f.read.energy)),
        fresh.map((f) => f.read.tsMs), fresh.map((f) => f.msg.signature), fresh.map((f) => f.msg.receivedAt.getTime()),
        fresh.map((f) => baseUnitsToKwh(f.read.register)), fresh.map((f) => f.read.spanStartMs),
        fresh.map((f) => f.read.state), fresh.map((f) => f.msg.record),
        pages.map((p) => p.msg.meterId), pages.map((p) => p.msg.page!.type), pages.map((p) => p.msg.page!.counter),
        pages.map((p) => p.msg.signature), pages.map((p) => p.msg.receivedAt.getTime()),
      ],
    });
    const byTs = new Map<string, string>();
    let updated = -1;
    for (const x of w.rows) {
      if (x.id === null) updated = Number(x.updated);
      else byTs.set(`${x.meter_id}|${x.ts_ms}`, x.id);
    }
    // Rows are locked by loadChains, so this only fails if that invariant is broken: retry the batch.
    if (updated !== changed.length) throw new Error(`register energies: updated ${updated} of ${changed.length} reads`);
    for (const f of fresh) ids.set(f.key, byTs.get(`${f.msg.meterId}|${f.read.tsMs}`)!);
  }
  const holds = chains.map((ch) => {
    const h = deriveEnergy(ch.start, ch.window, ch.rules, ch.resolutions).holdStart;
    return { id: ch.meterId, since: h ? new Date(h.tsMs) : null, reading: h ? (ids.get(h.key) ?? h.key) : null, was: ch.holdReadingId };
  });
  // Only meters whose hold changed (holdReadingId was read under the row lock): most batches
  // change none, and this saves their round trip.
  const changedHolds = holds.filter((h) => h.reading !== h.was);
  if (changedHolds.length) {
    await c.query(
      `UPDATE meters m SET hold_since = v.since, hold_reading_id = v.reading
         FROM unnest($1::text[], $2::timestamptz[], $3::bigint[]) AS v(id, since, reading)
        WHERE m.id = v.id AND (m.hold_reading_id IS DISTINCT FROM v.reading)`,
      [changedHolds.map((h) => h.id), changedHolds.map((h) => h.since), changedHolds.map((h) => h.reading)],
    );
  }
  return ids;
}

interface PageFacts {
  /** this counter is already stored for the meter */
  stored: boolean;
  hasPrev: boolean;
  hasOlder: boolean;
}

/** For each paged message: whether its counter, counter − 1 and older ones are stored. */
async function pageFacts(c: pg.PoolClient, msgs: RegisterMessage[]): Promise<Map<number, PageFacts>> {
  const paged = msgs.filter((m) => m.page);
  if (paged.length === 0) return new Map();
  const r = await c.query<{ i: number; stored: boolean; has_prev: boolean; has_older: boolean }>(
    `SELECT t.i,
            EXISTS (SELECT 1 FROM ocmf_pages q WHERE q.meter_id = t.m AND q.page_type = t.ty AND q.counter = t.c) AS stored,
            EXISTS (SELECT 1 FROM ocmf_pages q WHERE q.meter_id = t.m AND q.page_type = t.ty AND q.counter = t.c - 1) AS has_prev,
            EXISTS (SELECT 1 FROM ocmf_pages q WHERE q.meter_id = t.m AND q.page_type = t.ty AND q.counter < t.c) AS has_older
       FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[]) AS t(i, m, ty, c)`,
    [paged.map((m) => m.idx), paged.map((m) => m.meterId), paged.map((m) => m.page!.type), paged.map((m) => m.page!.counter)],
  );
  return new Map(r.rows.map((x) => [x.i, { stored: x.stored, hasPrev: x.has_prev, hasOlder: x.has_older }]));
}
