-- Up Migration

-- GET /api/erc/my-certificates answers up to 100 certificates per request. Building each one's
-- JSON per request (json_build_object, to_char, trim_scale) was most of that route's database CPU
-- (bench:api: ~1 ms per request of 50); the list item is now rendered when the row is written and
-- the list query only joins stored text. The item is the API's certificate summary view field for
-- field (a test compares the two). A trigger renders it on every insert and update, so no writer
-- (issue, anchor, transfer, retire, or a hand-written UPDATE) can leave it stale.
CREATE FUNCTION erc_certificate_summary_json(c erc_certificates) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT json_build_object(
    'certificate_id', c.certificate_id, 'status', c.status, 'meter_id', c.meter_id, 'owner_wallet', c.owner_wallet,
    'issued_to_wallet', c.issued_to_wallet,
    'period_start', to_char(c.period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'period_end', to_char(c.period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'kwh_amount', trim_scale(c.kwh_amount)::text, 'reading_count', c.reading_count,
    'issuer', json_build_object('wallet', c.issuer_wallet, 'name', c.issuer_name),
    'issued_at', to_char(c.issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'metadata', c.metadata, 'content_hash', c.content_hash, 'blockchain_tx_signature', c.blockchain_tx_signature,
    'anchored_at', to_char(c.anchored_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'retirement', CASE WHEN c.retired_at IS NULL THEN NULL ELSE json_build_object(
      'beneficiary', c.retirement_beneficiary, 'purpose', c.retirement_purpose,
      'retired_at', to_char(c.retired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) END
  )::text
$$;

ALTER TABLE erc_certificates ADD COLUMN summary_json text;
UPDATE erc_certificates c SET summary_json = erc_certificate_summary_json(c);
ALTER TABLE erc_certificates ALTER COLUMN summary_json SET NOT NULL;

CREATE FUNCTION erc_certificates_render_summary() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.summary_json := erc_certificate_summary_json(NEW);
  RETURN NEW;
END
$$;
CREATE TRIGGER erc_certificates_summary_json BEFORE INSERT OR UPDATE ON erc_certificates
  FOR EACH ROW EXECUTE FUNCTION erc_certificates_render_summary();

-- Down Migration
DROP TRIGGER erc_certificates_summary_json ON erc_certificates;
DROP FUNCTION erc_certificates_render_summary();
DROP FUNCTION erc_certificate_summary_json(erc_certificates);
ALTER TABLE erc_certificates DROP COLUMN summary_json;
