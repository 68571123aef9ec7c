-- Up Migration

-- Physical plausibility (issue 8 §5). A meter reports energy per interval of `interval_seconds`
-- (a divisor of one day, so the grid lines up with midnight UTC) and cannot produce more than its
-- rated power `max_kw` for that long. The old per-reading cap `max_kwh` is retired: it becomes the
-- rated power that gives the same cap on today's 15-minute interval (max_kw = max_kwh × 4).
ALTER TABLE meters
  ADD COLUMN interval_seconds integer NOT NULL DEFAULT 900
    CHECK (interval_seconds BETWEEN 1 AND 86400 AND 86400 % interval_seconds = 0),
  ADD COLUMN max_kw numeric(20, 9) NOT NULL DEFAULT 400 CHECK (max_kw > 0);

UPDATE meters SET max_kw = max_kwh * 4;

ALTER TABLE meters DROP COLUMN max_kwh;

-- Down Migration
ALTER TABLE meters ADD COLUMN max_kwh numeric(20, 9) NOT NULL DEFAULT 100 CHECK (max_kwh > 0);
UPDATE meters SET max_kwh = greatest(round(max_kw * interval_seconds / 3600, 9), 0.000000001);
ALTER TABLE meters DROP COLUMN max_kw, DROP COLUMN interval_seconds;
