import type pg from 'pg';
import { contentHash, formatCertificateId, type CertificateContent, type ErcStatus } from '../domain/erc.js';
import { baseUnitsToKwh, numericToBaseUnits } from '../domain/kwh.js';
import { withTransaction } from './pool.js';

export interface CertificateRow {
  certificate_id: string;
  meter_id: string;
  issued_to_wallet: string;
  owner_wallet: string;
  period_start: Date;
  period_end: Date;
  kwh_amount: string;
  reading_count: number;
  reading_ids: string[];
  issuer_user_id: string;
  issuer_wallet: string;
  issuer_name: string;
  status: ErcStatus;
  issued_at: Date;
  metadata: Record<string, unknown>;
  content_hash: string;
  blockchain_tx_signature: string | null;
  anchored_at: Date | null;
  retired_at: Date | null;
  retirement_beneficiary: string | null;
  retirement_purpose: string | null;
}

const COLUMNS = `certificate_id, meter_id, issued_to_wallet, owner_wallet, period_start, period_end,
  kwh_amount::text AS kwh_amount, reading_count, reading_ids, issuer_user_id, issuer_wallet, issuer_name,
  status, issued_at, metadata, content_hash, blockchain_tx_signature, anchored_at, retired_at,
  retirement_beneficiary, retirement_purpose`;

/** The immutable, hashed part of a stored certificate. */
export function contentOf(row: CertificateRow): CertificateContent {
  return {
    certificate_id: row.certificate_id,
    meter_id: row.meter_id,
    issued_to_wallet: row.issued_to_wallet,
    period_start: row.period_start.toISOString(),
    period_end: row.period_end.toISOString(),
    kwh_amount: baseUnitsToKwh(numericToBaseUnits(row.kwh_amount)),
    reading_ids: row.reading_ids.map(String),
    issuer_wallet: row.issuer_wallet,
    issuer_name: row.issuer_name,
    issued_at: row.issued_at.toISOString(),
    metadata: row.metadata,
  };
}

export interface IssueInput {
  meterId: string;
  periodStart: string;
  periodEnd: string;
  issuerUserId: string;
  issuerWallet: string;
  issuerName: string;
  metadata: Record<string, unknown>;
  /** refuse periods backed by more readings than this (the id list is stored and hashed) */
  maxReadings: number;
}

export type IssueResult =
  | { ok: true; certificate: CertificateRow }
  | { ok: false; reason: 'unknown_meter' | 'no_readings' | 'already_certified' | 'too_many_readings'; count?: number }
  | { ok: false; reason: 'period_splits_reading'; span: { reading_id: string; start: string; end: string } };

/**
 * Issues one certificate for a meter's uncertified readings in (start, end]: a reading's
 * timestamp is the END of its interval, so the reading stamped `start` measured the interval
 * before the period and the one stamped `end` measured the period's last interval. The readings are
 * locked in id order (FOR UPDATE), so a concurrent issuance over an overlapping period waits and
 * then sees them certified; the link is then set only where still NULL. The kWh sum is NUMERIC
 * arithmetic in Postgres. The year's counter row is taken last to hold its lock briefly.
 */
export async function issueCertificate(pool: pg.Pool, input: IssueInput): Promise<IssueResult> {
  return withTransaction(pool, async (c) => {
    const meter = await c.query<{ owner_wallet: string; issued_at: Date; year: number }>(
      `SELECT owner_wallet, date_trunc('milliseconds', now()) AS issued_at,
              extract(year FROM now() AT TIME ZONE 'UTC')::int AS year
         FROM meters WHERE id = $1`,
      [input.meterId],
    );
    const m = meter.rows[0];
    if (!m) return { ok: false, reason: 'unknown_meter' };

    const split = await registerSpanAcross(c, input);
    if (split) return { ok: false, reason: 'period_splits_reading', span: split };
    // Register reads cover (span_start, timestamp] and belong to the period when that span lies
    // inside (start, end]; those that earn nothing (baseline, held, late) are never certified.
    const locked = await c.query<{ id: string; certified: boolean }>(
      `SELECT id, certificate_id IS NOT NULL AS certified FROM meter_readings
        WHERE meter_id = $1 AND (
          (register_kwh IS NULL AND "timestamp" > $2::timestamptz AND "timestamp" <= $3::timestamptz)
          OR (register_kwh IS NOT NULL AND kwh_amount > 0 AND span_start >= $2::timestamptz AND "timestamp" <= $3::timestamptz))
        ORDER BY id FOR UPDATE`,
      [input.meterId, input.periodStart, input.periodEnd],
    );
    const certified = locked.rows.filter((r) => r.certified).length;
    if (certified > 0) return { ok: false, reason: 'already_certified', count: certified };
    if (locked.rows.length === 0) return { ok: false, reason: 'no_readings' };
    if (locked.rows.length > input.maxReadings) return { ok: false, reason: 'too_many_readings', count: locked.rows.length };
    const ids = locked.rows.map((r) => r.id);

    const sum = await c.query<{ kwh: string }>('SELECT sum(kwh_amount)::text AS kwh FROM meter_readings WHERE id = ANY($1::bigint[])', [ids]);
    const seq = await c.query<{ last_value: number }>(
      `INSERT INTO erc_certificate_counters (year, last_value) VALUES ($1, 1)
       ON CONFLICT (year) DO UPDATE SET last_value = erc_certificate_counters.last_value + 1 RETURNING last_value`,
      [m.year],
    );
    const certificateId = formatCertificateId(m.year, seq.rows[0]!.last_value);
    const content: CertificateContent = {
      certificate_id: certificateId,
      meter_id: input.meterId,
      issued_to_wallet: m.owner_wallet,
      period_start: new Date(input.periodStart).toISOString(),
      period_end: new Date(input.periodEnd).toISOString(),
      kwh_amount: baseUnitsToKwh(numericToBaseUnits(sum.rows[0]!.kwh)),
      reading_ids: ids,
      issuer_wallet: input.issuerWallet,
      issuer_name: input.issuerName,
      issued_at: m.issued_at.toISOString(),
      metadata: input.metadata,
    };
    const inserted = await c.query<CertificateRow>(
      `INSERT INTO erc_certificates (certificate_id, meter_id, issued_to_wallet, owner_wallet, period_start, period_end,
         kwh_amount, reading_count, reading_ids, issuer_user_id, issuer_wallet, issuer_name, issued_at, metadata, content_hash)
       VALUES ($1, $2, $3, $3, $4::timestamptz, $5::timestamptz, $6::numeric, $7, $8::bigint[], $9, $10, $11, $12, $13::jsonb, $14)
       RETURNING ${COLUMNS}`,
      [certificateId, input.meterId, m.owner_wallet, input.periodStart, input.periodEnd, sum.rows[0]!.kwh, ids.length, ids,
        input.issuerUserId, input.issuerWallet, input.issuerName, m.issued_at, JSON.stringify(input.metadata), contentHash(content)],
    );
    const row = inserted.rows[0]!;
    // The hash must be reproducible from the stored row, or verify would report a false mismatch.
    if (contentHash(contentOf(row)) !== row.content_hash) throw new Error(`certificate ${certificateId}: stored content does not reproduce its hash`);
    const linked = await c.query(
      'UPDATE meter_readings SET certificate_id = $1, updated_at = now() WHERE id = ANY($2::bigint[]) AND certificate_id IS NULL',
      [certificateId, ids],
    );
    if (linked.rowCount !== ids.length) throw new Error(`certificate ${certificateId}: linked ${linked.rowCount} of ${ids.length} readings`);
    return { ok: true, certificate: row };
  });
}

/** A register read whose span (span_start, timestamp] crosses the period's start or end, if any. */
async function registerSpanAcross(c: pg.PoolClient, input: IssueInput): Promise<{ reading_id: string; start: string; end: string } | null> {
  const r = await c.query<{ id: string; span_start: Date; ts: Date }>(
    `SELECT id, span_start, "timestamp" AS ts FROM meter_readings
      WHERE meter_id = $1 AND register_kwh IS NOT NULL AND kwh_amount > 0
        AND ((span_start < $2::timestamptz AND "timestamp" > $2::timestamptz) OR (span_start < $3::timestamptz AND "timestamp" > $3::timestamptz))
      ORDER BY "timestamp" LIMIT 1`,
    [input.meterId, input.periodStart, input.periodEnd],
  );
  const x = r.rows[0];
  return x ? { reading_id: x.id, start: x.span_start.toISOString(), end: x.ts.toISOString() } : null;
}

export async function getCertificate(db: pg.Pool | pg.PoolClient, id: string): Promise<CertificateRow | null> {
  const r = await db.query<CertificateRow>(`SELECT ${COLUMNS} FROM erc_certificates WHERE certificate_id = $1`, [id]);
  return r.rows[0] ?? null;
}

const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

// Each item is the row's stored summary_json (migration 009: rendered by a trigger on every write),
// so a page costs a text concatenation, not 50 JSON renderings.
const MY_CERTIFICATES_SQL = `SELECT coalesce('[' || string_agg(summary_json, ',' ORDER BY issued_at DESC, certificate_id DESC) || ']', '[]') AS items
      FROM (SELECT summary_json, issued_at, certificate_id FROM erc_certificates WHERE owner_wallet = $1
             ORDER BY issued_at DESC, certificate_id DESC LIMIT $2 OFFSET $3) c`;

/**
 * The wallet's certificates, newest first, as a JSON array — the summary view (erc-views.ts
 * summaryView) field for field, as stored with each row. The list is the hot read path: one text
 * value instead of 50 parsed rows and a re-serialisation. A test checks that every item equals the
 * summary view of the same certificate, also after transfer, retirement and anchoring.
 */
export async function listCertificatesJsonByOwner(db: pg.Pool, wallet: string, limit: number, offset: number): Promise<string> {
  // Named: each pooled connection parses and plans it once, not on every request.
  const r = await db.query<{ items: string }>({ name: 'api-my-certificates', text: MY_CERTIFICATES_SQL, values: [wallet, limit, offset] });
  return r.rows[0]!.items;
}

export interface TransferRow {
  from_wallet: string;
  to_wallet: string;
  transferred_at: Date;
  blockchain_tx_signature: string | null;
}

// The detail document: the stored summary (migration 009) with the reading ids and transfers
// appended, and the three columns the caller's right to see it is decided on.
const CERTIFICATE_DETAIL_SQL = `SELECT owner_wallet, issuer_user_id, issuer_wallet,
       left(summary_json, -1) || ', "reading_ids" : ' || to_json(reading_ids::text[])::text || ', "transfers" : ' ||
       (SELECT coalesce(json_agg(json_build_object('from_wallet', t.from_wallet, 'to_wallet', t.to_wallet,
              'transferred_at', ${iso('t.transferred_at')}, 'blockchain_tx_signature', t.blockchain_tx_signature) ORDER BY t.id), '[]')
          FROM erc_certificate_transfers t WHERE t.certificate_id = c.certificate_id)::text || '}' AS json
       FROM erc_certificates c WHERE certificate_id = $1`;

export interface CertificateDetailJson {
  owner_wallet: string;
  issuer_user_id: string;
  issuer_wallet: string;
  /** the detail view (erc-views.ts detailView) as JSON text */
  json: string;
}

/**
 * A certificate with its readings and transfers as one JSON document, in one query and one
 * snapshot: the detail route sends it as it comes, where parsing some twenty columns (dates,
 * numerics, arrays) and serialising them again was most of its own CPU time. Named, so each
 * pooled connection plans it once. A test checks it against the detail view of the same row.
 */
export async function getCertificateDetailJson(db: pg.Pool, id: string): Promise<CertificateDetailJson | null> {
  const r = await db.query<CertificateDetailJson>({ name: 'api-certificate-detail', text: CERTIFICATE_DETAIL_SQL, values: [id] });
  return r.rows[0] ?? null;
}

export async function listTransfers(db: pg.Pool, id: string): Promise<TransferRow[]> {
  const r = await db.query<TransferRow>(
    'SELECT from_wallet, to_wallet, transferred_at, blockchain_tx_signature FROM erc_certificate_transfers WHERE certificate_id = $1 ORDER BY id',
    [id],
  );
  return r.rows;
}

/** kWh and count of the readings that point at this certificate (the link the database enforces). */
export async function backingOf(db: pg.Pool, id: string): Promise<{ kwh: string | null; count: number }> {
  const r = await db.query<{ kwh: string | null; count: number }>(
    'SELECT sum(kwh_amount)::text AS kwh, count(*)::int AS count FROM meter_readings WHERE certificate_id = $1',
    [id],
  );
  return r.rows[0]!;
}

export type OwnershipResult =
  | { ok: true; certificate: CertificateRow }
  | { ok: false; reason: 'not_found' | 'not_owner' | 'retired' | 'same_owner'; current: CertificateRow | null };

/** Locks the certificate row, checks the caller owns it and it is not retired, then applies `change`. */
async function withOwnedCertificate(
  pool: pg.Pool,
  id: string,
  callerWallet: string,
  change: (c: pg.PoolClient, row: CertificateRow) => Promise<OwnershipResult>,
): Promise<OwnershipResult> {
  return withTransaction(pool, async (c) => {
    const r = await c.query<CertificateRow>(`SELECT ${COLUMNS} FROM erc_certificates WHERE certificate_id = $1 FOR UPDATE`, [id]);
    const row = r.rows[0] ?? null;
    if (!row) return { ok: false, reason: 'not_found', current: null };
    if (row.owner_wallet !== callerWallet) return { ok: false, reason: 'not_owner', current: row };
    if (row.status === 'retired') return { ok: false, reason: 'retired', current: row };
    return change(c, row);
  });
}

/** Moves a live certificate from its current owner (the caller) to another wallet, with a history row. */
export async function transferCertificate(
  pool: pg.Pool,
  t: { id: string; callerWallet: string; callerSub: string; toWallet: string },
): Promise<OwnershipResult> {
  return withOwnedCertificate(pool, t.id, t.callerWallet, async (c, row) => {
    if (t.toWallet === row.owner_wallet) return { ok: false, reason: 'same_owner', current: row };
    await c.query(
      'INSERT INTO erc_certificate_transfers (certificate_id, from_wallet, to_wallet, transferred_by) VALUES ($1, $2, $3, $4)',
      [t.id, row.owner_wallet, t.toWallet, t.callerSub],
    );
    const u = await c.query<CertificateRow>(
      `UPDATE erc_certificates SET owner_wallet = $2, status = 'transferred' WHERE certificate_id = $1 RETURNING ${COLUMNS}`,
      [t.id, t.toWallet],
    );
    return { ok: true, certificate: u.rows[0]! };
  });
}

/** Retires a live certificate for a beneficiary; final (the row can never leave 'retired'). */
export async function retireCertificate(
  pool: pg.Pool,
  t: { id: string; callerWallet: string; beneficiary: string; purpose: string | null },
): Promise<OwnershipResult> {
  return withOwnedCertificate(pool, t.id, t.callerWallet, async (c) => {
    const u = await c.query<CertificateRow>(
      `UPDATE erc_certificates SET status = 'retired', retired_at = now(), retirement_beneficiary = $2, retirement_purpose = $3
        WHERE certificate_id = $1 AND status <> 'retired' RETURNING ${COLUMNS}`,
      [t.id, t.beneficiary, t.purpose],
    );
    return { ok: true, certificate: u.rows[0]! };
  });
}
