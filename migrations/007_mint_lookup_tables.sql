-- Up Migration

-- Address lookup tables the minter owns (authority = the mint authority). A table is recorded
-- here in the same DB transaction as the signed transaction that creates it, before that is
-- sent: its address is derived from (authority, recent slot), so a crash after the send still
-- leaves the address known and the table is reused instead of leaked.
CREATE TABLE mint_lookup_tables (
  address       text PRIMARY KEY,
  mint_address  text NOT NULL,
  authority     text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mint_lookup_tables_mint_idx ON mint_lookup_tables (mint_address, created_at);

-- Every signed create/extend transaction, recorded BEFORE it is sent (the outbox rules of
-- mint_outbox): a restart re-sends the same bytes while the blockhash is valid, and otherwise
-- resolves the row from the chain's answer. What a table holds is read from the chain.
CREATE TABLE mint_lookup_table_ops (
  id                      bigserial PRIMARY KEY,
  table_address           text NOT NULL REFERENCES mint_lookup_tables (address),
  kind                    text NOT NULL CHECK (kind IN ('create', 'extend')),
  status                  text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'sent', 'confirmed', 'expired', 'failed')),
  addresses               text[] NOT NULL,
  signature               text NOT NULL UNIQUE,
  last_valid_block_height bigint NOT NULL,
  tx_bytes                bytea NOT NULL,
  error                   text,
  created_at              timestamptz NOT NULL DEFAULT now(),
  resolved_at             timestamptz,
  CONSTRAINT mint_lookup_table_ops_resolved_at CHECK ((status IN ('pending', 'sent')) = (resolved_at IS NULL))
);
CREATE INDEX mint_lookup_table_ops_unresolved_idx ON mint_lookup_table_ops (id) WHERE status IN ('pending', 'sent');

-- "My readings" pages newest first with id as the tie-break: an index in exactly that order lets
-- the query stop after one page (meters reporting at the same instant made it sort them all).
-- It replaces the (wallet_address, timestamp DESC) index, which it also serves.
CREATE INDEX meter_readings_wallet_time_id_idx ON meter_readings (wallet_address, "timestamp" DESC, id DESC);
DROP INDEX meter_readings_wallet_idx;

-- Down Migration

CREATE INDEX meter_readings_wallet_idx ON meter_readings (wallet_address, "timestamp" DESC);
DROP INDEX meter_readings_wallet_time_id_idx;

DROP TABLE mint_lookup_table_ops;
DROP TABLE mint_lookup_tables;
