-- Up Migration

-- API users. Tokens carry `sub` = users.id; operators create rows with `gridmint user add`.
CREATE TABLE users (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  wallet      text NOT NULL CHECK (wallet ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'),
  role        text NOT NULL CHECK (role IN ('user', 'rec_authority', 'admin')),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_wallet_role_key UNIQUE (wallet, role)
);

-- Certificate numbers: ERC-YYYY-NNNNNN, gapless per UTC year. The counter row is locked by the
-- issuing transaction, so numbers are handed out in commit order and a rolled-back issuance
-- gives its number back.
CREATE TABLE erc_certificate_counters (
  year        integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 9999),
  last_value  integer NOT NULL CHECK (last_value BETWEEN 1 AND 999999999)
);

-- status: active      = held by the wallet it was issued to; can be transferred or retired
--         transferred = still live, but ownership has moved at least once; can move or retire again
--         retired     = claimed for a beneficiary; final, never moves again
CREATE TABLE erc_certificates (
  certificate_id           text PRIMARY KEY CHECK (certificate_id ~ '^ERC-[0-9]{4}-[0-9]{6,9}$'),
  meter_id                 text NOT NULL REFERENCES meters (id),
  -- the meter's owner at issuance; part of the anchored content, never changes
  issued_to_wallet         text NOT NULL,
  -- the current owner; moves with transfers (history in erc_certificate_transfers)
  owner_wallet             text NOT NULL,
  period_start             timestamptz NOT NULL,
  period_end               timestamptz NOT NULL,
  kwh_amount               numeric(30, 9) NOT NULL CHECK (kwh_amount > 0),
  reading_count            integer NOT NULL CHECK (reading_count > 0),
  reading_ids              bigint[] NOT NULL,
  issuer_user_id           text NOT NULL,
  issuer_wallet            text NOT NULL,
  issuer_name              text NOT NULL,
  status                   text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'transferred', 'retired')),
  issued_at                timestamptz NOT NULL,
  metadata                 jsonb NOT NULL DEFAULT '{}'::jsonb
                             CHECK (jsonb_typeof(metadata) = 'object' AND octet_length(metadata::text) <= 8192),
  -- SHA-256 (hex) of the RFC 8785 canonical JSON of the immutable fields, as anchored on chain
  content_hash             text NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
  blockchain_tx_signature  text,
  anchored_at              timestamptz,
  anchor_attempts          integer NOT NULL DEFAULT 0,
  anchor_next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  anchor_lease_until       timestamptz,
  anchor_last_error        text,
  retired_at               timestamptz,
  retirement_beneficiary   text,
  retirement_purpose       text,
  CONSTRAINT erc_period_order CHECK (period_end > period_start),
  CONSTRAINT erc_reading_count CHECK (cardinality(reading_ids) = reading_count),
  CONSTRAINT erc_retired_has_record CHECK ((status = 'retired') = (retired_at IS NOT NULL AND retirement_beneficiary IS NOT NULL)),
  CONSTRAINT erc_anchor_pair CHECK ((blockchain_tx_signature IS NULL) = (anchored_at IS NULL))
);
CREATE INDEX erc_certificates_owner_idx ON erc_certificates (owner_wallet, issued_at DESC, certificate_id DESC);
CREATE INDEX erc_certificates_issuer_idx ON erc_certificates (issuer_wallet, issued_at DESC);
CREATE INDEX erc_certificates_unanchored_idx ON erc_certificates (anchor_next_attempt_at) WHERE blockchain_tx_signature IS NULL;

CREATE TABLE erc_certificate_transfers (
  id                       bigserial PRIMARY KEY,
  certificate_id           text NOT NULL REFERENCES erc_certificates (certificate_id),
  from_wallet              text NOT NULL,
  to_wallet                text NOT NULL CHECK (to_wallet <> from_wallet),
  transferred_by           text NOT NULL,
  transferred_at           timestamptz NOT NULL DEFAULT now(),
  blockchain_tx_signature  text
);
CREATE INDEX erc_certificate_transfers_cert_idx ON erc_certificate_transfers (certificate_id, id);

-- The hard link between energy and certificate: a reading backs at most one certificate. Issuance
-- locks the period's readings and sets this only where it is still NULL, so two authorities
-- issuing overlapping periods at the same instant cannot both claim a reading.
ALTER TABLE meter_readings ADD COLUMN certificate_id text REFERENCES erc_certificates (certificate_id);
CREATE INDEX meter_readings_certificate_idx ON meter_readings (certificate_id) WHERE certificate_id IS NOT NULL;
-- GET /api/meters/my-readings: the caller's meters by owner wallet
CREATE INDEX meters_owner_wallet_idx ON meters (owner_wallet);

-- Down Migration
DROP INDEX meters_owner_wallet_idx;
DROP INDEX meter_readings_certificate_idx;
ALTER TABLE meter_readings DROP COLUMN certificate_id;
DROP TABLE erc_certificate_transfers;
DROP TABLE erc_certificates;
DROP TABLE erc_certificate_counters;
DROP TABLE users;
