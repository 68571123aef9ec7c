import type pg from 'pg';

export interface MissingIntervals {
  /** active meters with at least one missing interval */
  meters: number;
  /** missing intervals, summed over active meters */
  intervals: number;
}

/**
 * Gaps in the last 24 hours (the `stale` window: later than that a reading can no longer arrive).
 * For each active meter the expected readings are its grid points after max(24 h ago, its
 * registration) up to one interval ago — one interval of grace for delivery — and every one of
 * them without a stored reading is missing. One index range count per meter, on the unique
 * (meter_id, timestamp) key; run it every minute or so, not per scrape.
 */
export async function countMissingIntervals(db: pg.Pool): Promise<MissingIntervals> {
  const r = await db.query<{ meters: string; intervals: string }>(
    `WITH expected AS (
       SELECT id, interval_seconds AS i,
              ceil(greatest(extract(epoch FROM now()) - 86400, extract(epoch FROM created_at)) / interval_seconds) * interval_seconds AS first_end,
              floor((extract(epoch FROM now()) - interval_seconds) / interval_seconds) * interval_seconds AS last_end
         FROM meters WHERE status = 'active'
     ), gaps AS (
       SELECT (e.last_end - e.first_end) / e.i + 1 - (
                SELECT count(*) FROM meter_readings r
                 WHERE r.meter_id = e.id AND r."timestamp" BETWEEN to_timestamp(e.first_end) AND to_timestamp(e.last_end)
              ) AS missing
         FROM expected e WHERE e.last_end >= e.first_end
     )
     SELECT count(*) FILTER (WHERE missing > 0)::text AS meters, coalesce(sum(greatest(missing, 0)), 0)::text AS intervals FROM gaps`,
  );
  return { meters: Number(r.rows[0]!.meters), intervals: Number(r.rows[0]!.intervals) };
}
