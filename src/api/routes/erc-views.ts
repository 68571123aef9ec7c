import { ERC_STATUSES } from '../../domain/erc.js';
import { AppError } from '../../domain/errors.js';
import { baseUnitsToKwh, numericToBaseUnits } from '../../domain/kwh.js';
import type { CertificateRow, TransferRow } from '../../store/certificates.js';
import type { Principal } from '../auth.js';
import { certificateIdString, EXAMPLE, walletString } from '../schemas.js';

/** Response schemas and views for ERC certificates (shared by the ERC routes). */
const nullableString = { type: ['string', 'null'] } as const;

const certificateProps = {
  certificate_id: certificateIdString,
  status: { type: 'string', enum: ERC_STATUSES },
  meter_id: { type: 'string', examples: [EXAMPLE.meterId] },
  owner_wallet: walletString,
  issued_to_wallet: walletString,
  period_start: { type: 'string', format: 'date-time', examples: ['2026-11-01T00:00:00.000Z'] },
  period_end: { type: 'string', format: 'date-time', examples: ['2026-12-01T00:00:00.000Z'] },
  kwh_amount: { type: 'string', description: 'exact decimal kWh, the sum of the backing readings', examples: ['412.734000001'] },
  reading_count: { type: 'integer' },
  issuer: {
    type: 'object',
    required: ['wallet', 'name'],
    properties: { wallet: { type: 'string', examples: ['9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin'] }, name: { type: 'string', examples: ['Green Registry'] } },
  },
  issued_at: { type: 'string', format: 'date-time', examples: ['2026-12-01T08:30:00.000Z'] },
  metadata: { type: 'object', additionalProperties: true },
  content_hash: {
    type: 'string',
    description: 'SHA-256 of the RFC 8785 canonical JSON anchored on chain',
    examples: ['3f0a9d5c1e7b24a8c6d0f1e2b3a4958677a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2'],
  },
  blockchain_tx_signature: nullableString,
  anchored_at: nullableString,
  retirement: {
    type: ['object', 'null'],
    properties: { beneficiary: { type: 'string' }, purpose: nullableString, retired_at: { type: 'string' } },
  },
} as const;

const required = Object.keys(certificateProps);

export const certificateSummary = { type: 'object', required, properties: certificateProps } as const;

export const certificateDetail = {
  type: 'object',
  required: [...required, 'reading_ids', 'transfers'],
  properties: {
    ...certificateProps,
    reading_ids: { type: 'array', items: { type: 'string' }, description: 'ids of the meter readings behind the certificate' },
    transfers: {
      type: 'array',
      items: {
        type: 'object',
        properties: { from_wallet: { type: 'string' }, to_wallet: { type: 'string' }, transferred_at: { type: 'string' }, blockchain_tx_signature: nullableString },
      },
    },
  },
} as const;

export function summaryView(row: CertificateRow) {
  return {
    certificate_id: row.certificate_id,
    status: row.status,
    meter_id: row.meter_id,
    owner_wallet: row.owner_wallet,
    issued_to_wallet: row.issued_to_wallet,
    period_start: row.period_start.toISOString(),
    period_end: row.period_end.toISOString(),
    kwh_amount: baseUnitsToKwh(numericToBaseUnits(row.kwh_amount)),
    reading_count: row.reading_count,
    issuer: { wallet: row.issuer_wallet, name: row.issuer_name },
    issued_at: row.issued_at.toISOString(),
    metadata: row.metadata,
    content_hash: row.content_hash,
    blockchain_tx_signature: row.blockchain_tx_signature,
    anchored_at: row.anchored_at?.toISOString() ?? null,
    retirement: row.retired_at
      ? { beneficiary: row.retirement_beneficiary!, purpose: row.retirement_purpose, retired_at: row.retired_at.toISOString() }
      : null,
  };
}

export function detailView(row: CertificateRow, transfers: TransferRow[]) {
  return {
    ...summaryView(row),
    reading_ids: row.reading_ids.map(String),
    transfers: transfers.map((t) => ({ ...t, transferred_at: t.transferred_at.toISOString() })),
  };
}

/** Owner, issuing authority or admin; everyone else is told the certificate does not exist. */
export function canView(p: Principal, row: CertificateRow): boolean {
  if (p.role === 'admin') return true;
  if (p.wallet !== null && p.wallet === row.owner_wallet) return true;
  return p.role === 'rec_authority' && (p.sub === row.issuer_user_id || p.wallet === row.issuer_wallet);
}

/** The caller's wallet, for routes that act on "my" things. */
export function walletOf(p: Principal): string {
  if (!p.wallet) throw new AppError(403, 'no_wallet', 'your token carries no wallet claim');
  return p.wallet;
}
