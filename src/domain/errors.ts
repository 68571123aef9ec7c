/**
 * Refusals raised below the API (domain rules, mint, certificates, meters), named by a code.
 * The domain knows no transport: the API's catalogue (`api/errors.ts`) maps each code to an HTTP
 * status and its standard message, as `reasons.ts` does for ingest outcomes.
 */
export type DomainErrorCode =
  // any layer
  | 'not_found'
  | 'invalid_request'
  | 'chain_unavailable'
  | 'invalid_wallet'
  // minting
  | 'wallet_mismatch'
  | 'already_minted'
  | 'mint_pending'
  | 'unmintable_reading'
  | 'mint_not_confirmed'
  | 'mint_not_ready'
  | 'mint_busy'
  | 'invalid_amount'
  | 'amount_over_limit'
  | 'idempotency_key_reused'
  // certificates
  | 'invalid_period'
  | 'period_too_large'
  | 'no_readings'
  | 'period_overlaps_certified'
  | 'period_splits_reading'
  | 'not_owner'
  | 'certificate_retired'
  | 'same_owner'
  // meters
  | 'meter_exists'
  | 'invalid_resolution'
  | 'not_register'
  | 'not_on_hold';

export class DomainError extends Error {
  override name = 'DomainError';
  /**
   * `detail`: what this case adds to the code (names, ids, limits); without it the API answers
   * the catalogue's standard message for the code.
   */
  constructor(
    readonly code: DomainErrorCode,
    readonly detail?: string,
  ) {
    super(detail ?? code);
  }
}

export const notFound = (what: string) => new DomainError('not_found', `${what} not found`);
