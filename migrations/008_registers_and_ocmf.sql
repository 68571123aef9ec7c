-- Up Migration

-- How a meter reports: interval deltas (v1) or a cumulative register (register JSON or OCMF).
ALTER TABLE meters
  ADD COLUMN reads text NOT NULL DEFAULT 'interval' CHECK (reads IN ('interval', 'register')),
  ADD COLUMN format text NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'ocmf')),
  ADD COLUMN register_modulus numeric(20, 9) CHECK (register_modulus > 0),
  ADD COLUMN initial_register numeric(20, 9) CHECK (initial_register >= 0),
  ADD COLUMN obis text CHECK (length(obis) BETWEEN 3 AND 40),
  ADD COLUMN serial text CHECK (length(serial) BETWEEN 1 AND 64),
  -- derived: the first read of an unresolved hold (an unexplained register drop)
  ADD COLUMN hold_since timestamptz,
  ADD COLUMN hold_reading_id bigint;
-- Power cap for register plausibility; migration 005 may have added it already (same column).
ALTER TABLE meters ADD COLUMN IF NOT EXISTS max_kw numeric(20, 9) CHECK (max_kw > 0);
ALTER TABLE meters
  ADD CONSTRAINT meters_ocmf_is_register CHECK (format = 'json' OR reads = 'register'),
  ADD CONSTRAINT meters_register_fields CHECK (
    reads = 'register' OR (register_modulus IS NULL AND initial_register IS NULL AND hold_since IS NULL)),
  ADD CONSTRAINT meters_obis_for_ocmf CHECK ((format = 'ocmf') = (obis IS NOT NULL)),
  -- a rollover must be plausible in power, so a modulus needs a power cap to judge it by
  ADD CONSTRAINT meters_modulus_needs_max_kw CHECK (register_modulus IS NULL OR max_kw IS NOT NULL),
  ADD CONSTRAINT meters_hold_pair CHECK ((hold_since IS NULL) = (hold_reading_id IS NULL));
CREATE INDEX meters_on_hold_idx ON meters (hold_since) WHERE hold_since IS NOT NULL;

-- A register read is a row of meter_readings like an interval reading, so minting, certificates
-- and the supply audit treat its energy (kwh_amount) exactly as they treat an interval's.
--   register_kwh  the register's value at "timestamp" (NULL for interval readings)
--   span_start    the energy covers (span_start, "timestamp"]; NULL for 0-energy starting points
--   energy_state  see src/domain/register.ts
ALTER TABLE meter_readings
  ADD COLUMN register_kwh numeric(20, 9) CHECK (register_kwh >= 0),
  ADD COLUMN span_start timestamptz,
  ADD COLUMN energy_state text
    CHECK (energy_state IN ('baseline', 'initial', 'rise', 'rollover', 'exchange', 'rebase', 'held', 'late')),
  -- the signed OCMF record the read came from, byte for byte (NULL for JSON)
  ADD COLUMN source_record bytea;
ALTER TABLE meter_readings DROP CONSTRAINT meter_readings_kwh_amount_check;
ALTER TABLE meter_readings
  ADD CONSTRAINT meter_readings_energy CHECK (
    CASE WHEN register_kwh IS NULL
      THEN kwh_amount > 0 AND span_start IS NULL AND energy_state IS NULL
      ELSE kwh_amount >= 0 AND energy_state IS NOT NULL
        AND (span_start IS NULL OR span_start < "timestamp")
        -- only a rise, rollover, initial or exchange earns; everything else is 0 by definition
        AND (energy_state IN ('rise', 'rollover', 'initial', 'exchange') OR kwh_amount = 0)
        AND (kwh_amount = 0 OR span_start IS NOT NULL)
    END);
-- 0-energy reads are never minted: keep them out of the minter's index and queue
DROP INDEX meter_readings_unminted_idx;
CREATE INDEX meter_readings_unminted_idx ON meter_readings (id) WHERE NOT minted AND kwh_amount > 0;
CREATE INDEX meter_readings_register_idx ON meter_readings (meter_id, "timestamp") WHERE register_kwh IS NOT NULL;

-- Once minted, claimed by a mint transaction or certified, a register read's energy never changes
-- again (interval readings' energy is never rewritten by gridmint at all).
CREATE FUNCTION meter_readings_frozen_energy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.kwh_amount IS DISTINCT FROM OLD.kwh_amount
     AND (OLD.minted OR OLD.mint_outbox_id IS NOT NULL OR OLD.certificate_id IS NOT NULL) THEN
    RAISE EXCEPTION 'reading % is minted, claimed or certified: its energy cannot change', OLD.id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER meter_readings_frozen_energy BEFORE UPDATE OF kwh_amount ON meter_readings
  FOR EACH ROW WHEN (OLD.register_kwh IS NOT NULL) EXECUTE FUNCTION meter_readings_frozen_energy();

-- A mint transaction mints exactly the energy of the readings it claims. The minter plans from
-- an unlocked read; a late register read may split a rise in between, so this is checked at
-- commit: a stale plan then fails instead of minting the old amount.
CREATE FUNCTION mint_outbox_matches_readings() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE claimed numeric;
BEGIN
  IF NEW.kind = 'readings' THEN
    SELECT coalesce(sum(kwh_amount), 0) * 1000000000 INTO claimed FROM meter_readings WHERE mint_outbox_id = NEW.id;
    IF claimed <> NEW.total_base_units THEN
      RAISE EXCEPTION 'mint outbox % claims % base units of readings but mints %', NEW.id, claimed, NEW.total_base_units
        USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER mint_outbox_matches_readings AFTER INSERT ON mint_outbox
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION mint_outbox_matches_readings();

-- Operator decisions that end a hold, with who and why.
--   replace  meter exchange at "at": energy up to final_register counts, counting resumes from new_initial
--   rebase   the read at "at" becomes the new baseline; the drop earns nothing
CREATE TABLE register_resolutions (
  id              bigserial PRIMARY KEY,
  meter_id        text NOT NULL REFERENCES meters (id),
  kind            text NOT NULL CHECK (kind IN ('replace', 'rebase')),
  "at"            timestamptz NOT NULL,
  final_register  numeric(20, 9) CHECK (final_register >= 0),
  new_initial     numeric(20, 9) CHECK (new_initial >= 0),
  resolved_by     text NOT NULL CHECK (length(resolved_by) BETWEEN 1 AND 200),
  reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  created_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT register_resolutions_fields CHECK ((kind = 'replace') = (final_register IS NOT NULL AND new_initial IS NOT NULL)),
  CONSTRAINT register_resolutions_meter_at_key UNIQUE (meter_id, "at")
);

-- OCMF pagination: every page counter seen per meter, so gaps and repeats are visible.
CREATE TABLE ocmf_pages (
  meter_id     text NOT NULL REFERENCES meters (id),
  page_type    text NOT NULL CHECK (page_type IN ('T', 'F')),
  counter      bigint NOT NULL CHECK (counter >= 0),
  signature    text NOT NULL,
  received_at  timestamptz NOT NULL,
  PRIMARY KEY (meter_id, page_type, counter)
);

-- Down Migration
DROP TABLE ocmf_pages;
DROP TABLE register_resolutions;
DROP TRIGGER mint_outbox_matches_readings ON mint_outbox;
DROP FUNCTION mint_outbox_matches_readings();
DROP TRIGGER meter_readings_frozen_energy ON meter_readings;
DROP FUNCTION meter_readings_frozen_energy();
DROP INDEX meter_readings_register_idx;
DROP INDEX meter_readings_unminted_idx;
CREATE INDEX meter_readings_unminted_idx ON meter_readings (id) WHERE NOT minted;
-- Register reads that were minted or certified back tokens and certificates: refuse to roll back
-- over them rather than leave supply without readings.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM meter_readings WHERE register_kwh IS NOT NULL AND (minted OR mint_outbox_id IS NOT NULL OR certificate_id IS NOT NULL)) THEN
    RAISE EXCEPTION 'migration 008 down: minted or certified register reads exist; they back tokens and certificates';
  END IF;
END $$;
DELETE FROM meter_readings WHERE register_kwh IS NOT NULL;
ALTER TABLE meter_readings DROP CONSTRAINT meter_readings_energy;
ALTER TABLE meter_readings ADD CONSTRAINT meter_readings_kwh_amount_check CHECK (kwh_amount > 0);
ALTER TABLE meter_readings DROP COLUMN source_record, DROP COLUMN energy_state, DROP COLUMN span_start, DROP COLUMN register_kwh;
DROP INDEX meters_on_hold_idx;
-- max_kw stays: migration 005 owns it once both are applied
ALTER TABLE meters DROP CONSTRAINT meters_hold_pair, DROP CONSTRAINT meters_modulus_needs_max_kw,
  DROP CONSTRAINT meters_obis_for_ocmf, DROP CONSTRAINT meters_register_fields, DROP CONSTRAINT meters_ocmf_is_register;
ALTER TABLE meters DROP COLUMN hold_reading_id, DROP COLUMN hold_since, DROP COLUMN serial, DROP COLUMN obis,
  DROP COLUMN initial_register, DROP COLUMN register_modulus, DROP COLUMN format, DROP COLUMN reads;
