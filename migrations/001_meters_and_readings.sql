-- Up Migration
CREATE TABLE meters (
  id                  text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{1,64}$'),
  owner_wallet        text NOT NULL,
  public_key          text NOT NULL,
  status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  max_kwh             numeric(20, 9) NOT NULL DEFAULT 100 CHECK (max_kwh > 0),
  -- scrypt hash of the meter's MQTT password; the clear password is shown once at creation
  mqtt_password_hash  text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  last_seen_at        timestamptz
);

CREATE TABLE meter_readings (
  id                 bigserial PRIMARY KEY,
  meter_id           text NOT NULL REFERENCES meters (id),
  wallet_address     text NOT NULL,
  kwh_amount         numeric(20, 9) NOT NULL CHECK (kwh_amount > 0),
  "timestamp"        timestamptz NOT NULL,
  signature          text NOT NULL,
  minted             boolean NOT NULL DEFAULT false,
  mint_tx_signature  text,
  mint_timestamp     timestamptz,
  received_at        timestamptz NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  -- one reading per meter and interval end: redelivery is a duplicate, different content a conflict
  CONSTRAINT meter_readings_meter_timestamp_key UNIQUE (meter_id, "timestamp"),
  CONSTRAINT meter_readings_minted_has_tx CHECK (minted = (mint_tx_signature IS NOT NULL))
);
CREATE INDEX meter_readings_unminted_idx ON meter_readings (id) WHERE NOT minted;
CREATE INDEX meter_readings_wallet_idx ON meter_readings (wallet_address, "timestamp" DESC);

-- Quarantine: everything a meter sends that is not stored as a reading, so nothing is silently lost.
CREATE TABLE rejected_readings (
  id           bigserial PRIMARY KEY,
  source       text NOT NULL CHECK (source IN ('mqtt', 'http')),
  topic        text NOT NULL,
  meter_id     text,
  raw          bytea NOT NULL,
  raw_size     integer NOT NULL,
  reason       text NOT NULL,
  detail       text,
  received_at  timestamptz NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejected_readings_meter_idx ON rejected_readings (meter_id, created_at DESC);
CREATE INDEX rejected_readings_reason_idx ON rejected_readings (reason, created_at DESC);

-- Down Migration
DROP TABLE rejected_readings;
DROP TABLE meter_readings;
DROP TABLE meters;
