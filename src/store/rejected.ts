import type pg from 'pg';
import { safeText } from '../domain/text.js';

/**
 * Raw bytes kept per quarantined message; `raw_size` keeps the true size. 64 KiB is the HTTP body
 * limit and 4 × the default MQTT packet limit, so whatever a transport accepts with default limits
 * is kept byte for byte; only a broker configured for larger packets can have its tail cut.
 */
export const QUARANTINE_RAW_MAX = 64 * 1024;
/** Characters kept of the (escaped) topic and detail: a 64 KiB topic must not become a 64 KiB row. */
export const QUARANTINE_TOPIC_MAX = 256;
export const QUARANTINE_DETAIL_MAX = 1024;

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
 * bytes go to bytea exactly as received, capped at 4 KiB (an oversize payload keeps its first
 * 4 KiB and a note in `detail`). Topic, meter id and detail are network-controlled text: NUL,
 * control characters and lone surrogates are escaped (text columns cannot hold U+0000, and one
 * such row would otherwise fail its whole batch) and the length is capped.
 */
export async function insertQuarantine(client: pg.PoolClient, rows: QuarantineRow[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO rejected_readings (source, topic, meter_id, raw, raw_size, reason, detail, received_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::int[], $6::text[], $7::text[], $8::timestamptz[])`,
    [
      rows.map((x) => x.source),
      rows.map((x) => safeText(x.topic, QUARANTINE_TOPIC_MAX)),
      rows.map((x) => (x.meterId === null ? null : safeText(x.meterId, QUARANTINE_TOPIC_MAX))),
      rows.map((x) => (x.raw.length > QUARANTINE_RAW_MAX ? x.raw.subarray(0, QUARANTINE_RAW_MAX) : x.raw)),
      rows.map((x) => x.raw.length),
      rows.map((x) => x.reason),
      rows.map((x) => detailOf(x)),
      rows.map((x) => x.receivedAt),
    ],
  );
}

function detailOf(x: QuarantineRow): string | null {
  const detail = x.detail === null ? null : safeText(x.detail, QUARANTINE_DETAIL_MAX);
  if (x.raw.length <= QUARANTINE_RAW_MAX) return detail;
  return `${detail ?? ''} (raw truncated to ${QUARANTINE_RAW_MAX} of ${x.raw.length} bytes)`.trim();
}
