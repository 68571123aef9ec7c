import type { DomainErrorCode } from '../domain/errors.js';
import { DomainError } from '../domain/errors.js';

/**
 * The one error catalogue of the HTTP API: every refusal is `{ error: { code, message } }` with a
 * code from here, its status and its standard message (used when the error carries no detail of
 * its own). Domain codes come from `domain/errors.ts`; the codes below are the API's own.
 * Submitted readings answer with the ingest reason codes instead (`routes/readings.ts`).
 */
export type ApiErrorCode =
  | DomainErrorCode
  | 'unauthorized'
  | 'forbidden'
  | 'no_wallet'
  | 'invalid_metadata'
  | 'idempotency_key_required'
  | 'invalid_idempotency_key'
  | 'bad_request'
  | 'too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'internal_error';

interface CatalogueEntry {
  status: number;
  message: string;
}

export const API_ERRORS: Record<ApiErrorCode, CatalogueEntry> = {
  // 400
  invalid_request: { status: 400, message: 'the request breaks the schema' },
  bad_request: { status: 400, message: 'bad request' },
  invalid_wallet: { status: 400, message: 'not a valid Solana public key' },
  invalid_metadata: { status: 400, message: 'metadata is not valid' },
  idempotency_key_required: { status: 400, message: 'send an Idempotency-Key header (e.g. a UUID) so a retried mint cannot mint twice' },
  invalid_idempotency_key: { status: 400, message: 'Idempotency-Key must be 1..200 visible ASCII characters' },
  wallet_mismatch: { status: 400, message: 'the reading belongs to another wallet' },
  unmintable_reading: { status: 400, message: 'reading cannot be minted' },
  invalid_amount: { status: 400, message: 'amount must be > 0 and fit a u64 in base units' },
  invalid_period: { status: 400, message: 'period_end must be after period_start' },
  period_too_large: { status: 400, message: 'the period holds too many readings for one certificate' },
  same_owner: { status: 400, message: 'the certificate already belongs to that wallet' },
  invalid_resolution: { status: 400, message: 'the resolution is not valid for this meter' },
  // 401, 403
  unauthorized: { status: 401, message: 'a valid bearer token is required' },
  forbidden: { status: 403, message: 'your role may not do this' },
  no_wallet: { status: 403, message: 'your token carries no wallet claim' },
  not_owner: { status: 403, message: 'only the current owner may do this' },
  // 404
  not_found: { status: 404, message: 'not found' },
  // 409
  already_minted: { status: 409, message: 'the reading is already minted' },
  mint_pending: { status: 409, message: 'a pending mint transaction holds the reading' },
  no_readings: { status: 409, message: 'the period holds no accepted readings for this meter' },
  period_overlaps_certified: { status: 409, message: 'the period overlaps readings already backing a certificate' },
  period_splits_reading: { status: 409, message: 'a reading crosses a boundary of the period' },
  certificate_retired: { status: 409, message: 'the certificate is retired; retirement is final' },
  meter_exists: { status: 409, message: 'the meter already exists' },
  not_register: { status: 409, message: 'the meter does not report a register' },
  not_on_hold: { status: 409, message: 'the meter is not on hold' },
  // 413, 415, 422, 429
  too_large: { status: 413, message: 'body too large' },
  unsupported_media_type: { status: 415, message: 'unsupported content type' },
  amount_over_limit: { status: 422, message: 'the amount exceeds OPERATOR_MINT_MAX_TOKENS' },
  idempotency_key_reused: { status: 422, message: 'this Idempotency-Key was used for a different request; use a new key for a new mint' },
  rate_limited: { status: 429, message: 'too many requests' },
  // 5xx
  internal_error: { status: 500, message: 'internal error; the server log has the details' },
  chain_unavailable: { status: 503, message: 'the Solana RPC cannot be reached; try again shortly' },
  mint_not_ready: { status: 503, message: 'the token mint is not ready' },
  mint_not_confirmed: { status: 503, message: 'the transaction ended without minting; nothing was minted and it is safe to retry' },
  mint_busy: { status: 503, message: 'concurrent operator mints kept colliding; retry with the same Idempotency-Key' },
  unavailable: { status: 503, message: 'the gateway cannot store readings right now; retry later' },
};

/** A refusal the API itself raises (auth, headers, route rules); the catalogue gives its status. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    readonly detail?: string,
  ) {
    super(detail ?? API_ERRORS[code].message);
  }
}

export interface ErrorAnswer {
  status: number;
  body: { error: { code: string; message: string } };
}

/** The status and body for a code: the error's own detail, or the catalogue's message. */
export function answerFor(code: ApiErrorCode, detail?: string): ErrorAnswer {
  const entry = API_ERRORS[code];
  return { status: entry.status, body: { error: { code, message: detail ?? entry.message } } };
}

/** The answer for a catalogued error (raised by the domain, a feature or the API), else null. */
export function catalogued(err: unknown): ErrorAnswer | null {
  if (err instanceof DomainError || err instanceof ApiError) return answerFor(err.code, err.detail);
  return null;
}

export const unauthorized = (detail?: string) => new ApiError('unauthorized', detail);
export const forbidden = (detail?: string) => new ApiError('forbidden', detail);
