import { Type } from 'typebox';
import { ERC_STATUSES } from '../../domain/erc.js';
import { baseUnitsToKwh, numericToBaseUnits } from '../../domain/kwh.js';
import type { CertificateRecord } from '../../erc/service.js';
import type { CertificateRow } from '../../store/certificates.js';
import type { Principal } from '../auth.js';
import { ApiError } from '../errors.js';
import { certificateIdString, EXAMPLE, nullable, stringEnum, walletString } from '../schemas.js';

/** Response schemas and views for ERC certificates (shared by the ERC routes). */
const nullableString = nullable(Type.String());

const certificateProps = {
  certificate_id: certificateIdString,
  status: stringEnum(ERC_STATUSES),
  meter_id: Type.String({ examples: [EXAMPLE.meterId] }),
  owner_wallet: walletString,
  issued_to_wallet: walletString,
  period_start: Type.String({ format: 'date-time', examples: ['2026-11-01T00:00:00.000Z'] }),
  period_end: Type.String({ format: 'date-time', examples: ['2026-12-01T00:00:00.000Z'] }),
  kwh_amount: Type.String({ description: 'exact decimal kWh, the sum of the backing readings', examples: ['412.734000001'] }),
  reading_count: Type.Integer(),
  issuer: Type.Object({
    wallet: Type.String({ examples: ['9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin'] }),
    name: Type.String({ examples: ['Green Registry'] }),
  }),
  issued_at: Type.String({ format: 'date-time', examples: ['2026-12-01T08:30:00.000Z'] }),
  metadata: Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true }),
  content_hash: Type.String({
    description: 'SHA-256 of the RFC 8785 canonical JSON anchored on chain',
    examples: ['3f0a9d5c1e7b24a8c6d0f1e2b3a4958677a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2'],
  }),
  blockchain_tx_signature: nullableString,
  anchored_at: nullableString,
  retirement: nullable(
    Type.Object({ beneficiary: Type.Optional(Type.String()), purpose: Type.Optional(nullableString), retired_at: Type.Optional(Type.String()) }),
  ),
};

export const certificateSummary = Type.Object(certificateProps);

export const certificateDetail = Type.Object({
  ...certificateProps,
  reading_ids: Type.Array(Type.String(), { description: 'ids of the meter readings behind the certificate' }),
  transfers: Type.Array(
    Type.Object({
      from_wallet: Type.Optional(Type.String()),
      to_wallet: Type.Optional(Type.String()),
      transferred_at: Type.Optional(Type.String()),
      blockchain_tx_signature: Type.Optional(nullableString),
    }),
  ),
});

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

export function detailView({ certificate: row, transfers }: CertificateRecord) {
  return {
    ...summaryView(row),
    reading_ids: row.reading_ids.map(String),
    transfers: transfers.map((t) => ({ ...t, transferred_at: t.transferred_at.toISOString() })),
  };
}

/** The caller's wallet, for routes that act on "my" things (403 `no_wallet` without one). */
export function walletOf(p: Principal): string {
  if (!p.wallet) throw new ApiError('no_wallet');
  return p.wallet;
}
