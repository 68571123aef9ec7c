import type pg from 'pg';

/** Raw bytes kept per quarantined message; `raw_size` keeps the true size. */
export const QUARANTINE_RAW_MAX = 4096;

export interface QuarantineRow {
  source: 'mqtt' | 'http';
  topic: string;
  meterId: string | null;
  raw: Buffer;
  reason: string;
  detail: string | null;
  receivedAt: Date;
}

/**
 * Stores refused messages in rejected_readings so nothing a meter sends is silently lost. Raw
 * bytes are capped at 4 KiB (an oversize payload keeps its first 4 KiB and a note in `detail`).
 */
export async function insertQuarantine(client: pg.PoolClient, rows: QuarantineRow[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO rejected_readings (source, topic, meter_id, raw, raw_size, reason, detail, received_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::int[], $6::text[], $7::text[], $8::timestamptz[])`,
    [
      rows.map((x) => x.source),
      rows.map((x) => x.topic),
      rows.map((x) => x.meterId),
      rows.map((x) => (x.raw.length > QUARANTINE_RAW_MAX ? x.raw.subarray(0, QUARANTINE_RAW_MAX) : x.raw)),
      rows.map((x) => x.raw.length),
      rows.map((x) => x.reason),
      rows.map((x) => (x.raw.length > QUARANTINE_RAW_MAX ? `${x.detail ?? ''} (raw truncated to ${QUARANTINE_RAW_MAX} of ${x.raw.length} bytes)`.trim() : x.detail)),
      rows.map((x) => x.receivedAt),
    ],
  );
}

export interface QuarantinedMessage {
  id: string;
  source: string;
  topic: string;
  meter_id: string | null;
  raw: Buffer;
  raw_size: number;
  reason: string;
  detail: string | null;
  received_at: Date;
}

export async function listQuarantine(db: pg.Pool, opts: { meterId?: string; limit?: number } = {}): Promise<QuarantinedMessage[]> {
  const r = await db.query<QuarantinedMessage>(
    `SELECT id, source, topic, meter_id, raw, raw_size, reason, detail, received_at FROM rejected_readings
     WHERE $1::text IS NULL OR meter_id = $1 ORDER BY id DESC LIMIT $2`,
    [opts.meterId ?? null, opts.limit ?? 100],
  );
  return r.rows;
}
