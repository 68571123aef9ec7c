import type pg from 'pg';

/**
 * What the database says has been minted, for the supply audit. Sums are exact NUMERIC rendered
 * as text; the caller converts them to base units with domain/kwh.
 */
export interface RecordedTotals {
  /** Σ kWh of minted readings */
  readingsKwh: string;
  /** Σ kWh of operator mints whose transaction is confirmed */
  operatorKwh: string;
  /** Σ base units of confirmed outbox rows (must equal the two above × 10^9) */
  confirmedOutboxBaseUnits: string;
  /** outbox rows not yet resolved: while > 0 the chain may be ahead of the database */
  unresolvedOutbox: number;
  /** minted readings whose outbox row is not confirmed or has another signature (must be 0) */
  inconsistentReadings: number;
  /** …of which: outbox row missing or not confirmed */
  unconfirmedReadings: number;
  /** …of which: outbox row confirmed, but under another signature than the reading records */
  signatureMismatches: number;
}

export async function recordedTotals(pool: pg.Pool): Promise<RecordedTotals> {
  const r = await pool.query<{ readings: string; operator: string; outbox: string; unresolved: string; unconfirmed: string; badsig: string }>(`
    SELECT
      (SELECT coalesce(sum(kwh_amount), 0)::text FROM meter_readings WHERE minted) AS readings,
      (SELECT coalesce(sum(p.amount), 0)::text FROM operator_mints p JOIN mint_outbox o ON o.id = p.outbox_id
        WHERE o.status = 'confirmed') AS operator,
      (SELECT coalesce(sum(total_base_units), 0)::text FROM mint_outbox WHERE status = 'confirmed') AS outbox,
      (SELECT count(*) FROM mint_outbox WHERE status IN ('pending', 'sent')) AS unresolved,
      (SELECT count(*) FROM meter_readings m LEFT JOIN mint_outbox o ON o.id = m.mint_outbox_id
        WHERE m.minted AND o.status IS DISTINCT FROM 'confirmed') AS unconfirmed,
      (SELECT count(*) FROM meter_readings m JOIN mint_outbox o ON o.id = m.mint_outbox_id
        WHERE m.minted AND o.status = 'confirmed' AND o.signature IS DISTINCT FROM m.mint_tx_signature) AS badsig`);
  const row = r.rows[0]!;
  return {
    readingsKwh: row.readings,
    operatorKwh: row.operator,
    confirmedOutboxBaseUnits: row.outbox,
    unresolvedOutbox: Number(row.unresolved),
    inconsistentReadings: Number(row.unconfirmed) + Number(row.badsig),
    unconfirmedReadings: Number(row.unconfirmed),
    signatureMismatches: Number(row.badsig),
  };
}

/** Per-wallet minted kWh (readings + confirmed operator mints), as exact decimal strings. */
export async function walletMintedKwh(pool: pg.Pool): Promise<Map<string, string>> {
  const r = await pool.query<{ wallet: string; kwh: string }>(`
    SELECT wallet, sum(kwh)::text AS kwh FROM (
      SELECT wallet_address AS wallet, kwh_amount AS kwh FROM meter_readings WHERE minted
      UNION ALL
      SELECT p.wallet_address, p.amount FROM operator_mints p JOIN mint_outbox o ON o.id = p.outbox_id
      WHERE o.status = 'confirmed'
    ) t GROUP BY wallet ORDER BY wallet`);
  return new Map(r.rows.map((x) => [x.wallet, x.kwh]));
}
