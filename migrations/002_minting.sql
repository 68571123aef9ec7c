-- Up Migration

-- The token this database mints. One row: readings minted on one mint must never be audited
-- against another, so changing mint or cluster means a new database.
CREATE TABLE token_mint (
  singleton        boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  mint_address     text NOT NULL,
  cluster          text NOT NULL,
  rpc_genesis_hash text,
  decimals         smallint NOT NULL CHECK (decimals = 9),
  mint_authority   text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);

-- One row per signed mint transaction, written and committed BEFORE the transaction is sent.
--   pending   recorded; may or may not have reached the network (crash right after commit)
--   sent      handed to the RPC at least once
--   confirmed finalized on chain without error; its readings are minted (same DB transaction)
--   expired   its blockhash expired and the chain has no record of it; readings released
--   failed    landed with an error, or was refused and then expired; readings released
CREATE TABLE mint_outbox (
  id                      bigserial PRIMARY KEY,
  kind                    text NOT NULL CHECK (kind IN ('readings', 'operator')),
  status                  text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'sent', 'confirmed', 'expired', 'failed')),
  mint_address            text NOT NULL,
  signature               text NOT NULL UNIQUE,
  blockhash               text NOT NULL,
  last_valid_block_height bigint NOT NULL,
  -- the exact signed bytes, so a restart re-sends the same transaction (same signature) and
  -- never a different one for the same readings
  tx_bytes                bytea NOT NULL,
  instruction_count       integer NOT NULL,
  total_base_units        numeric(30, 0) NOT NULL CHECK (total_base_units > 0),
  send_attempts           integer NOT NULL DEFAULT 0,
  -- set when the RPC refused the transaction outright; it still waits for expiry to resolve
  rejected                boolean NOT NULL DEFAULT false,
  error                   text,
  created_at              timestamptz NOT NULL DEFAULT now(),
  sent_at                 timestamptz,
  resolved_at             timestamptz,
  updated_at              timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT mint_outbox_resolved_at CHECK ((status IN ('pending', 'sent')) = (resolved_at IS NULL))
);
CREATE INDEX mint_outbox_unresolved_idx ON mint_outbox (id) WHERE status IN ('pending', 'sent');

-- What each transaction mints to whom (one mintTo per wallet per transaction).
CREATE TABLE mint_outbox_entries (
  outbox_id       bigint NOT NULL REFERENCES mint_outbox (id),
  wallet_address  text NOT NULL,
  base_units      numeric(20, 0) NOT NULL CHECK (base_units > 0 AND base_units <= 18446744073709551615),
  PRIMARY KEY (outbox_id, wallet_address)
);
CREATE INDEX mint_outbox_entries_wallet_idx ON mint_outbox_entries (wallet_address);

-- A reading belongs to at most one outbox row at a time: the single column is the constraint.
-- While the row is unresolved the reading cannot be claimed again; on expiry it is set back to
-- NULL; on confirmation it stays, pointing at the transaction that minted it.
ALTER TABLE meter_readings ADD COLUMN mint_outbox_id bigint REFERENCES mint_outbox (id);
ALTER TABLE meter_readings
  ADD CONSTRAINT meter_readings_minted_via_outbox CHECK (NOT minted OR mint_outbox_id IS NOT NULL);
CREATE INDEX meter_readings_mint_outbox_idx ON meter_readings (mint_outbox_id) WHERE mint_outbox_id IS NOT NULL;
CREATE INDEX meter_readings_minted_wallet_idx ON meter_readings (wallet_address) WHERE minted;

-- Tokens minted by an operator rather than for readings; part of the supply audit.
CREATE TABLE operator_mints (
  id              bigserial PRIMARY KEY,
  outbox_id       bigint NOT NULL UNIQUE REFERENCES mint_outbox (id),
  wallet_address  text NOT NULL,
  amount          numeric(20, 9) NOT NULL CHECK (amount > 0),
  reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  requested_by    text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE operator_mints;
ALTER TABLE meter_readings DROP CONSTRAINT meter_readings_minted_via_outbox;
ALTER TABLE meter_readings DROP COLUMN mint_outbox_id;
DROP TABLE mint_outbox_entries;
DROP TABLE mint_outbox;
DROP TABLE token_mint;
