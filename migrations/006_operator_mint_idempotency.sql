-- Up Migration

-- The key an admin sent with an operator mint, on the permanent record, so the audit can list
-- every operator mint with its key, admin and reason. NULL for mints made before keys existed.
ALTER TABLE operator_mints ADD COLUMN idempotency_key text
  CHECK (idempotency_key IS NULL OR length(idempotency_key) BETWEEN 1 AND 200);

-- Idempotency keys of POST /api/admin/tokens/mint, kept at least 7 days (older rows are purged).
-- The row is inserted in the same DB transaction as the operator mint and its outbox row, so a
-- key either names exactly one recorded mint or nothing; a concurrent send with the same key
-- waits on the primary key and then finds the first one's mint instead of minting again.
CREATE TABLE operator_mint_requests (
  idempotency_key   text PRIMARY KEY CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  requested_by      text NOT NULL,
  -- sha256 (hex) of the request's meaning: admin, wallet, amount in base units, reason
  request_hash      text NOT NULL CHECK (request_hash ~ '^[0-9a-f]{64}$'),
  operator_mint_id  bigint NOT NULL UNIQUE REFERENCES operator_mints (id),
  -- the answer once the transaction settled (confirmed); NULL while it is still in flight
  response          jsonb,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operator_mint_requests_created_idx ON operator_mint_requests (created_at);

-- Down Migration
DROP TABLE operator_mint_requests;
ALTER TABLE operator_mints DROP COLUMN idempotency_key;
