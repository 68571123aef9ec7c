import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../harness/index.js';

/**
 * Issue 12 A2: each CHECK constraint refuses what it exists to refuse. Valid rows of every table
 * are set up once; each case then breaks exactly one rule (in a transaction that is rolled back)
 * and must be refused by that constraint, by name, with SQLSTATE 23514.
 */
const W1 = '586Z7H2vpX9qNhN2T4e9Utugie3ogjbxzGaMtM3E6HR5';
const W2 = '9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin';
const HASH = 'a'.repeat(64);
const CERT = 'ERC-2025-000001';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`
    INSERT INTO meters (id, owner_wallet, public_key, mqtt_password_hash) VALUES ('chk-meter', '${W1}', '${W2}', 'h');
    INSERT INTO token_mint (mint_address, cluster, decimals, mint_authority) VALUES ('${W2}', 'localnet', 9, '${W1}');
    INSERT INTO mint_outbox (id, kind, status, mint_address, signature, blockhash, last_valid_block_height, tx_bytes, instruction_count, total_base_units, resolved_at)
      VALUES (1, 'readings', 'confirmed', '${W2}', 'sig-1', 'bh', 10, '\\x01', 2, 1500000000, now()),
             (2, 'operator', 'pending', '${W2}', 'sig-2', 'bh', 10, '\\x01', 2, 1000000000, NULL);
    INSERT INTO mint_outbox_entries (outbox_id, wallet_address, base_units) VALUES (1, '${W1}', 1500000000);
    INSERT INTO operator_mints (outbox_id, wallet_address, amount, reason, requested_by) VALUES (2, '${W1}', 1, 'correction', 'admin');
    INSERT INTO meter_readings (id, meter_id, wallet_address, kwh_amount, "timestamp", signature, received_at, minted, mint_tx_signature, mint_outbox_id)
      VALUES (1, 'chk-meter', '${W1}', 1.5, '2025-01-01T00:15:00Z', 's1', now(), true, 'sig-1', 1),
             (2, 'chk-meter', '${W1}', 2, '2025-01-01T00:30:00Z', 's2', now(), false, NULL, NULL);
    INSERT INTO rejected_readings (source, topic, meter_id, raw, raw_size, reason, received_at) VALUES ('mqtt', 't', 'chk-meter', '\\x00', 1, 'stale', now());
    INSERT INTO users (wallet, role, name) VALUES ('${W1}', 'rec_authority', 'Registry');
    INSERT INTO erc_certificate_counters (year, last_value) VALUES (2025, 1);
    INSERT INTO erc_certificates (certificate_id, meter_id, issued_to_wallet, owner_wallet, period_start, period_end, kwh_amount, reading_count,
                                  reading_ids, issuer_user_id, issuer_wallet, issuer_name, issued_at, content_hash)
      VALUES ('${CERT}', 'chk-meter', '${W1}', '${W1}', '2025-01-01T00:00:00Z', '2025-01-01T01:00:00Z', 1.5, 1, '{1}', 'u', '${W2}', 'Registry', now(), '${HASH}');
    INSERT INTO erc_certificate_transfers (certificate_id, from_wallet, to_wallet, transferred_by) VALUES ('${CERT}', '${W1}', '${W2}', 'u');
  `);
});
afterAll(async () => db?.drop());

/** [constraint, what it refuses, a statement that breaks exactly that rule on the valid rows] */
const CASES: [string, string, string][] = [
  ['meters_id_check', 'meter ids outside [A-Za-z0-9._-]{1,64}', "INSERT INTO meters (id, owner_wallet, public_key, mqtt_password_hash) VALUES ('bad id!', 'w', 'k', 'h')"],
  ['meters_max_kw_check', 'a zero rated power', 'UPDATE meters SET max_kw = 0'],
  ['meters_interval_seconds_check', 'an interval that does not divide a day', 'UPDATE meters SET interval_seconds = 7'],
  ['meters_status_check', 'an unknown meter status', "UPDATE meters SET status = 'deleted'"],
  ['meter_readings_energy', 'an interval reading of 0 kWh', 'UPDATE meter_readings SET kwh_amount = 0 WHERE id = 2'],
  ['meter_readings_energy', 'a negative reading', 'UPDATE meter_readings SET kwh_amount = -0.000000001 WHERE id = 2'],
  ['meter_readings_energy', 'energy from a register read that earns none (held)', "UPDATE meter_readings SET register_kwh = 10, energy_state = 'held' WHERE id = 2"],
  ['meter_readings_minted_has_tx', 'minted without a transaction signature', 'UPDATE meter_readings SET mint_tx_signature = NULL WHERE id = 1'],
  ['meter_readings_minted_has_tx', 'a signature on an unminted reading', "UPDATE meter_readings SET mint_tx_signature = 'sig-x' WHERE id = 2"],
  ['meter_readings_minted_via_outbox', 'minted without an outbox row', 'UPDATE meter_readings SET mint_outbox_id = NULL WHERE id = 1'],
  ['rejected_readings_source_check', 'a quarantine source other than mqtt/http', "UPDATE rejected_readings SET source = 'ftp'"],
  ['token_mint_decimals_check', 'a mint with other than 9 decimals', 'UPDATE token_mint SET decimals = 6'],
  ['token_mint_singleton_check', 'a second recorded mint', "INSERT INTO token_mint (singleton, mint_address, cluster, decimals, mint_authority) VALUES (false, 'm', 'c', 9, 'a')"],
  ['mint_outbox_kind_check', 'an unknown outbox kind', "UPDATE mint_outbox SET kind = 'airdrop' WHERE id = 1"],
  ['mint_outbox_status_check', 'an unknown outbox status', "UPDATE mint_outbox SET status = 'lost' WHERE id = 1"],
  ['mint_outbox_resolved_at', 'a resolved row without resolved_at', 'UPDATE mint_outbox SET resolved_at = NULL WHERE id = 1'],
  ['mint_outbox_resolved_at', 'an unresolved row with resolved_at', 'UPDATE mint_outbox SET resolved_at = now() WHERE id = 2'],
  ['mint_outbox_total_base_units_check', 'a transaction minting nothing', 'UPDATE mint_outbox SET total_base_units = 0 WHERE id = 1'],
  ['mint_outbox_entries_base_units_check', 'a zero mintTo', 'UPDATE mint_outbox_entries SET base_units = 0'],
  ['mint_outbox_entries_base_units_check', 'a mintTo above u64', 'UPDATE mint_outbox_entries SET base_units = 18446744073709551616'],
  ['operator_mints_amount_check', 'an operator mint of 0', 'UPDATE operator_mints SET amount = 0'],
  ['operator_mints_reason_check', 'an operator mint without a reason', "UPDATE operator_mints SET reason = ''"],
  ['operator_mints_reason_check', 'a reason over 500 characters', "UPDATE operator_mints SET reason = repeat('x', 501)"],
  ['operator_mints_idempotency_key_check', 'an empty idempotency key', "UPDATE operator_mints SET idempotency_key = ''"],
  ['operator_mints_idempotency_key_check', 'an idempotency key over 200 characters', "UPDATE operator_mints SET idempotency_key = repeat('k', 201)"],
  ['users_wallet_check', 'a wallet that is not base58', "UPDATE users SET wallet = '0OIl-not-base58-0OIl-not-base58-0OIl'"],
  ['users_role_check', 'an unknown role', "UPDATE users SET role = 'root'"],
  ['users_name_check', 'an empty name', "UPDATE users SET name = ''"],
  ['erc_certificate_counters_year_check', 'a year before 2000', 'UPDATE erc_certificate_counters SET year = 1999'],
  ['erc_certificate_counters_last_value_check', 'a counter past 999,999,999', 'UPDATE erc_certificate_counters SET last_value = 1000000000'],
  ['erc_certificates_certificate_id_check', 'an id not ERC-YYYY-NNNNNN', "UPDATE erc_certificates SET certificate_id = 'ERC-25-1'"],
  ['erc_certificates_kwh_amount_check', 'a certificate of 0 kWh', 'UPDATE erc_certificates SET kwh_amount = 0'],
  ['erc_certificates_reading_count_check', 'a certificate of no readings', "UPDATE erc_certificates SET reading_count = 0, reading_ids = '{}'"],
  ['erc_reading_count', 'a count that differs from the id list', 'UPDATE erc_certificates SET reading_count = 2'],
  ['erc_certificates_status_check', 'an unknown certificate status', "UPDATE erc_certificates SET status = 'burned'"],
  ['erc_certificates_metadata_check', 'metadata that is not an object', "UPDATE erc_certificates SET metadata = '[1]'"],
  ['erc_certificates_metadata_check', 'metadata over 8 KiB', `UPDATE erc_certificates SET metadata = jsonb_build_object('k', repeat('x', 8200))`],
  ['erc_certificates_content_hash_check', 'a content hash that is not sha256 hex', "UPDATE erc_certificates SET content_hash = upper(content_hash)"],
  ['erc_period_order', 'a period that ends before it starts', "UPDATE erc_certificates SET period_end = period_start"],
  ['erc_retired_has_record', 'retired without a beneficiary', "UPDATE erc_certificates SET status = 'retired', retired_at = now()"],
  ['erc_retired_has_record', 'a retirement record on a live certificate', "UPDATE erc_certificates SET retired_at = now(), retirement_beneficiary = 'b'"],
  ['erc_anchor_pair', 'an anchor signature without its time', "UPDATE erc_certificates SET blockchain_tx_signature = 'sig'"],
  ['erc_certificate_transfers_check', 'a transfer to the same wallet', 'UPDATE erc_certificate_transfers SET to_wallet = from_wallet'],
];

async function refusal(sql: string): Promise<{ code?: string; constraint?: string } | null> {
  const c = await db.pool.connect();
  try {
    await c.query('BEGIN');
    await c.query(sql);
    return null;
  } catch (err) {
    return err as { code?: string; constraint?: string };
  } finally {
    await c.query('ROLLBACK');
    c.release();
  }
}

describe('CHECK constraints refuse what they exist to refuse', () => {
  it.each(CASES)('%s refuses %s', async (constraint, _what, sql) => {
    const err = await refusal(sql);
    expect(err, `accepted: ${sql}`).not.toBeNull();
    expect({ code: err!.code, constraint: err!.constraint }).toEqual({ code: '23514', constraint });
  });

  it('the valid rows themselves are accepted (the cases break one rule each)', async () => {
    const r = await db.pool.query("SELECT (SELECT count(*) FROM meter_readings)::int AS readings, (SELECT count(*) FROM erc_certificates)::int AS certs");
    expect(r.rows[0]).toEqual({ readings: 2, certs: 1 });
  });

  it('every CHECK constraint of the money and certificate tables has a case here', async () => {
    const r = await db.pool.query<{ conname: string }>(
      `SELECT conname FROM pg_constraint WHERE contype = 'c' AND conrelid::regclass::text = ANY($1) ORDER BY 1`,
      [['token_mint', 'mint_outbox', 'mint_outbox_entries', 'operator_mints', 'users', 'erc_certificate_counters', 'erc_certificates', 'erc_certificate_transfers']],
    );
    const covered = new Set(CASES.map((c) => c[0]));
    expect(r.rows.map((x) => x.conname).filter((n) => !covered.has(n))).toEqual([]);
  });
});
