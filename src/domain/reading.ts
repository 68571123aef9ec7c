/** The v1 message contract a meter publishes to `meters/{meter_id}/readings`. */
export const MAX_PAYLOAD_BYTES = 4096;
export const METER_ID_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
export const METER_ID_RE = new RegExp(METER_ID_PATTERN);

export interface SignedReading {
  meter_id: string;
  /** RFC 3339, the end of the measured interval */
  timestamp: string;
  /** decimal string, > 0, at most 9 fractional digits */
  kwh_amount: string;
  /** base58 Solana public key of the owner */
  wallet_address: string;
  /** base58 ed25519 signature over the canonical form of the other four fields */
  signature: string;
}

/** The fields every signed JSON reading carries (interval and register variants alike). */
export const envelopeProperties = {
  meter_id: { type: 'string', pattern: METER_ID_PATTERN },
  timestamp: { type: 'string', format: 'date-time', maxLength: 40 },
  wallet_address: { type: 'string', minLength: 1, maxLength: 64 },
  signature: { type: 'string', pattern: '^[1-9A-HJ-NP-Za-km-z]{64,90}$' },
} as const;

// Amount syntax is checked here but its sign and size are not: a zero or negative amount is an
// implausible reading (its own reason code), not a malformed one.
export const readingSchema = {
  $id: 'gridmint/reading-v1',
  type: 'object',
  additionalProperties: false,
  required: ['meter_id', 'timestamp', 'kwh_amount', 'wallet_address', 'signature'],
  properties: {
    meter_id: envelopeProperties.meter_id,
    timestamp: envelopeProperties.timestamp,
    kwh_amount: { type: 'string', pattern: '^-?(0|[1-9][0-9]{0,10})(\\.[0-9]{1,9})?$' },
    wallet_address: envelopeProperties.wallet_address,
    signature: envelopeProperties.signature,
  },
} as const;

export function topicForReadings(meterId: string): string {
  return `meters/${meterId}/readings`;
}

export function topicForStatus(meterId: string): string {
  return `meters/${meterId}/status`;
}

/** Meter id from `meters/{id}/readings`, or null when the topic is not a readings topic. */
export function meterIdFromTopic(topic: string): string | null {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== 'meters' || parts[2] !== 'readings') return null;
  return METER_ID_RE.test(parts[1]!) ? parts[1]! : null;
}

/** Topic of a meter registered with --format ocmf: the record exactly as the meter produced it. */
export function topicForOcmf(meterId: string): string {
  return `meters/${meterId}/ocmf`;
}

/** Meter id from `meters/{id}/ocmf`, or null. */
export function meterIdFromOcmfTopic(topic: string): string | null {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== 'meters' || parts[2] !== 'ocmf') return null;
  return METER_ID_RE.test(parts[1]!) ? parts[1]! : null;
}
