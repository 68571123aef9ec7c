import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REGISTER_NOTES, REJECT_REASONS } from '../domain/reasons.js';
import { REFUSAL_REASONS } from '../domain/connection-refusals.js';

/**
 * Every metric gridmint exports, on one registry per gateway (tests run several in one process).
 * Label values are always from a fixed set: reasons, outcomes, route templates, RPC method names.
 * The dashboard (config/grafana) and alert rules (config/prometheus) reference these names; a test
 * scrapes a running gateway and fails if they drift apart.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gridmint_' });
  const r = [registry];

  const m = {
    registry,
    // ingestion
    readingsReceived: new Counter({ name: 'gridmint_readings_received_total', help: 'Messages received on readings topics or the HTTP submit endpoint', labelNames: ['transport'], registers: r }),
    readingsAccepted: new Counter({ name: 'gridmint_readings_accepted_total', help: 'Readings verified and committed', labelNames: ['transport'], registers: r }),
    readingsDuplicate: new Counter({ name: 'gridmint_readings_duplicate_total', help: 'Redelivered readings acknowledged without storing again', registers: r }),
    readingsRejected: new Counter({ name: 'gridmint_readings_rejected_total', help: 'Messages quarantined, by reason code', labelNames: ['reason'], registers: r }),
    ingestBatchSize: new Histogram({ name: 'gridmint_ingest_batch_size', help: 'Messages per ingest commit', buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500], registers: r }),
    ingestCommitSeconds: new Histogram({ name: 'gridmint_ingest_commit_seconds', help: 'From receipt of a message to the commit of its batch', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: r }),
    ingestStageSeconds: new Histogram({ name: 'gridmint_ingest_stage_seconds', help: 'Time a message spent in each ingest stage: queued (for a verifier), verify, write_wait (for a write transaction), write', labelNames: ['stage'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: r }),
    ingestDropped: new Counter({ name: 'gridmint_ingest_dropped_total', help: 'Messages acknowledged without being stored because even their quarantine write failed, by reason code', labelNames: ['reason'], registers: r }),
    ingestPending: new Gauge({ name: 'gridmint_ingest_pending', help: 'Messages received but not yet committed (unacknowledged)', registers: r }),
    metersConnected: new Gauge({ name: 'gridmint_meters_connected', help: 'Meters connected to the embedded broker', registers: r }),
    mqttConnectionsRefused: new Counter({ name: 'gridmint_mqtt_connections_refused_total', help: 'Embedded-broker connections closed by a limit (packet size, pre-CONNECT bytes, connect timeout, connection caps)', labelNames: ['reason'], registers: r }),
    metersWithMissingIntervals: new Gauge({ name: 'gridmint_meters_with_missing_intervals', help: 'Active meters with at least one interval of the last 24 h that has no reading', registers: r }),
    missingIntervals: new Gauge({ name: 'gridmint_missing_intervals', help: 'Intervals of the last 24 h without a reading, summed over active meters', registers: r }),
    metersStale: new Gauge({ name: 'gridmint_meters_stale', help: 'Active meters that reported in the last 7 days but not in the last hour', registers: r }),
    dbErrors: new Counter({ name: 'gridmint_db_errors_total', help: 'Database errors by operation', labelNames: ['operation'], registers: r }),
    dbUp: new Gauge({ name: 'gridmint_db_up', help: '1 when the database answered the last probe', registers: r }),
    brokerUp: new Gauge({ name: 'gridmint_broker_up', help: '1 when the MQTT side is connected and taking messages', registers: r }),
    // minting
    mintRuns: new Counter({ name: 'gridmint_mint_runs_total', help: 'Batch mint runs by result', labelNames: ['result'], registers: r }),
    tokensMinted: new Counter({ name: 'gridmint_tokens_minted_total', help: 'Tokens (kWh) minted and confirmed; for dashboards only, the audit is exact', registers: r }),
    mintTransactions: new Counter({ name: 'gridmint_mint_transactions_total', help: 'Mint transactions by outcome (sent, confirmed, expired, failed)', labelNames: ['outcome'], registers: r }),
    mintInstructionsPerTx: new Histogram({ name: 'gridmint_mint_instructions_per_transaction', help: 'Instructions packed into each mint transaction', buckets: [1, 2, 4, 6, 8, 10, 12, 16, 20, 24, 32], registers: r }),
    unmintedKwh: new Gauge({ name: 'gridmint_unminted_kwh', help: 'kWh accepted but not yet minted', registers: r }),
    oldestUnmintedAge: new Gauge({ name: 'gridmint_oldest_unminted_reading_age_seconds', help: 'Age of the oldest unminted reading (mint lag)', registers: r }),
    chainRpcErrors: new Counter({ name: 'gridmint_chain_rpc_errors_total', help: 'Solana RPC errors by method', labelNames: ['method'], registers: r }),
    chainUp: new Gauge({ name: 'gridmint_chain_up', help: '1 when the Solana RPC answered the last probe', registers: r }),
    supplyDrift: new Gauge({ name: 'gridmint_supply_drift_base_units', help: 'On-chain supply minus the recorded minted total, in base units (should be 0)', registers: r }),
    // HTTP API
    httpRequests: new Counter({ name: 'gridmint_http_requests_total', help: 'HTTP requests by route template and status class', labelNames: ['method', 'route', 'status_class'], registers: r }),
    httpDuration: new Histogram({ name: 'gridmint_http_request_duration_seconds', help: 'HTTP latency by route template', labelNames: ['method', 'route', 'status_class'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: r }),
    ercIssued: new Counter({ name: 'gridmint_erc_certificates_issued_total', help: 'ERC certificates issued', registers: r }),
    ercAnchorsPending: new Gauge({ name: 'gridmint_erc_anchors_pending', help: 'Certificates whose on-chain memo anchor is not yet confirmed', registers: r }),
    // register meters (issue 10); the hold and page gauges are in register-gauges.ts
    registerEvents: new Counter({ name: 'gridmint_register_events_total', help: 'Stored register reads that tell the operator something (register_regression, late_read, rollover, ocmf_page_gap)', labelNames: ['event'], registers: r }),
  };
  for (const event of REGISTER_NOTES) m.registerEvents.inc({ event }, 0);
  // Pre-create the bounded label values so dashboards show zeros instead of "no data".
  for (const reason of REJECT_REASONS) {
    m.readingsRejected.inc({ reason }, 0);
    m.ingestDropped.inc({ reason }, 0);
  }
  for (const reason of REFUSAL_REASONS) m.mqttConnectionsRefused.inc({ reason }, 0);
  for (const transport of ['mqtt', 'http']) {
    m.readingsReceived.inc({ transport }, 0);
    m.readingsAccepted.inc({ transport }, 0);
  }
  for (const outcome of ['sent', 'confirmed', 'expired', 'failed']) m.mintTransactions.inc({ outcome }, 0);
  for (const result of ['success', 'empty', 'failed', 'skipped']) m.mintRuns.inc({ result }, 0);
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
