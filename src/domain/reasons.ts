/**
 * Stable reason codes for what happened to a reading. Meters, dashboards and alert rules key on
 * these strings, so they are part of the public contract: add new ones, never rename.
 */
export const REJECT_REASONS = [
  'invalid_payload',
  'too_large',
  'meter_mismatch',
  'forbidden_topic',
  'unknown_meter',
  'meter_inactive',
  'bad_signature',
  'implausible_energy',
  'misaligned_timestamp',
  'stale',
  'future_timestamp',
  'invalid_wallet',
  'wallet_mismatch',
  'conflict',
  'invalid_encoding',
  'unprocessable',
  // register meters and OCMF (issue 10)
  'ocmf_status',
  'serial_mismatch',
  'ocmf_page_repeat',
  'ocmf_read_repeat',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

export type IngestOutcome = 'accepted' | 'duplicate' | RejectReason;

export const REASON_TEXT: Record<RejectReason, string> = {
  invalid_payload: 'payload does not match the v1 reading contract',
  too_large: 'payload is larger than 4096 bytes',
  meter_mismatch: 'meter_id in the payload differs from the meter id in the topic',
  forbidden_topic: 'this client may not publish to that topic',
  unknown_meter: 'no meter with this id is registered',
  meter_inactive: 'the meter is suspended',
  bad_signature: 'signature does not verify against the meter public key',
  implausible_energy: "kwh_amount must be greater than 0 and at most the meter's rated power × its interval",
  misaligned_timestamp: "timestamp is not on the meter's interval grid (a whole multiple of interval_seconds since the Unix epoch)",
  stale: 'timestamp is older than the accepted window',
  future_timestamp: 'timestamp is too far in the future',
  invalid_wallet: 'wallet_address is not a valid Solana public key',
  wallet_mismatch: 'wallet_address is not the registered owner of this meter',
  conflict: 'a different reading for this meter and timestamp is already stored',
  invalid_encoding: 'payload is not valid UTF-8 or contains NUL, control characters or lone surrogates',
  unprocessable: 'the gateway could not process or store this message; it is kept in quarantine',
  ocmf_status: 'the OCMF reading status (ST) is not G (OK)',
  serial_mismatch: 'the OCMF gateway serial (GS) is not the registered serial',
  ocmf_page_repeat: 'an OCMF page counter (PG) already received, now with other reads',
  ocmf_read_repeat: 'an OCMF record repeats a stored read beside new ones (a record is stored whole or not at all)',
};

/**
 * Not refusals: things a stored register read tells the operator, reported on the status topic
 * (detail starts with the code) and counted in gridmint_register_events_total.
 */
export const REGISTER_NOTES = ['register_regression', 'late_read', 'rollover', 'ocmf_page_gap'] as const;
export type RegisterNote = (typeof REGISTER_NOTES)[number];
