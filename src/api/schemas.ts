import { CERTIFICATE_ID_PATTERN } from '../domain/erc.js';

/** Shared JSON schemas for route definitions (and so for the OpenAPI document at /docs). */
export const errorBody = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', examples: ['not_found'] }, message: { type: 'string', examples: ['certificate ERC-2026-000042 not found'] } },
    },
  },
} as const;

/**
 * Realistic examples for /docs (the README's test vector), instead of strings generated from the
 * patterns. `examples` becomes the OpenAPI `example`.
 */
export const EXAMPLE = {
  wallet: '586Z7H2vpX9qNhN2T4e9Utugie3ogjbxzGaMtM3E6HR5',
  meterPubkey: 'FVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z',
  meterId: 'meter-001',
  kwh: '1.234567891',
  timestamp: '2026-11-25T12:15:00Z',
  certificateId: 'ERC-2026-000042',
  readingId: '1042',
  signature: '4zFa5QCekxcDCNdfNn3VKohrc9iLUq5UuomHnHUaQwVaUzt7ssqp5tK9HMEgSw5tpDXPMCzvYYXGvGMgRcJotMEC',
} as const;

export const walletString = { type: 'string', pattern: '^[1-9A-HJ-NP-Za-km-z]{32,44}$', examples: [EXAMPLE.wallet] } as const;
export const meterIdString = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$', examples: [EXAMPLE.meterId] } as const;
export const kwhString = { type: 'string', pattern: '^(0|[1-9][0-9]{0,10})(\\.[0-9]{1,9})?$', examples: [EXAMPLE.kwh] } as const;

export const pageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
    offset: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 },
  },
} as const;

/** The standard refusals a route documents alongside its 2xx response. */
export function withErrors<T extends Record<number, unknown>>(ok: T, ...codes: number[]) {
  const out: Record<number, unknown> = { ...ok };
  for (const c of codes) out[c] = errorBody;
  return out;
}

/** RFC 3339 with at most millisecond precision, so what is stored is exactly what was sent. */
export const timestampString = {
  type: 'string',
  format: 'date-time',
  maxLength: 35,
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?(Z|[+-][0-9]{2}:[0-9]{2})$',
  examples: [EXAMPLE.timestamp],
} as const;

export const certificateIdString = { type: 'string', pattern: CERTIFICATE_ID_PATTERN, examples: [EXAMPLE.certificateId] } as const;

/** Free text a person types (names, beneficiaries): bounded, no control characters. */
export function freeText(maxLength: number) {
  return { type: 'string', minLength: 1, maxLength, pattern: '^[^\\u0000-\\u001f\\u007f]+$' } as const;
}

const pageInfo = {
  type: 'object',
  required: ['limit', 'offset'],
  properties: { limit: { type: 'integer', examples: [50] }, offset: { type: 'integer', examples: [0] } },
} as const;

/** A page of a list (the answer to a `pageQuery`): `{ [key]: items[], page: { limit, offset } }`. */
export function pageOf(key: string, items: object) {
  return { type: 'object', required: [key, 'page'], properties: { [key]: { type: 'array', items }, page: pageInfo } } as const;
}
