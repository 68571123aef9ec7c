import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { findUnsafeChar } from './text.js';
import type { Role } from './roles.js';

/**
 * Energy Renewable Certificates: id format, the content that is anchored on chain, and its hash.
 * Pure functions; the store and the anchor job build on them.
 */
export const ERC_STATUSES = ['active', 'transferred', 'retired'] as const;
export type ErcStatus = (typeof ERC_STATUSES)[number];

export const CERTIFICATE_ID_PATTERN = '^ERC-[0-9]{4}-[0-9]{6,9}$';

/** `ERC-2025-000042`: six digits, more once a year passes 999,999 certificates. */
export function formatCertificateId(year: number, sequence: number): string {
  if (!Number.isInteger(year) || year < 2000 || year > 9999) throw new RangeError(`bad certificate year ${year}`);
  if (!Number.isInteger(sequence) || sequence < 1 || sequence > 999_999_999) throw new RangeError(`bad certificate sequence ${sequence}`);
  return `ERC-${year}-${String(sequence).padStart(6, '0')}`;
}

/**
 * What a certificate asserts, fixed at issuance. Only these fields are hashed: owner, status and
 * retirement change over the certificate's life and are recorded elsewhere (transfers table).
 */
export interface CertificateContent {
  certificate_id: string;
  meter_id: string;
  issued_to_wallet: string;
  period_start: string;
  period_end: string;
  /** canonical decimal: no trailing zeros ("12.5", "0.000000001") */
  kwh_amount: string;
  /** ascending, as decimal strings (bigint ids) */
  reading_ids: string[];
  issuer_wallet: string;
  issuer_name: string;
  issued_at: string;
  metadata: Record<string, unknown>;
}

/** Version tag inside the hashed object, so a later format cannot collide with this one. */
export const CONTENT_VERSION = 'gridmint-erc-v1';

/** RFC 8785 canonical JSON of the content (with its version tag). */
export function canonicalContent(c: CertificateContent): string {
  const text = canonicalize({ v: CONTENT_VERSION, ...c });
  if (text === undefined) throw new Error('certificate content cannot be canonicalised');
  return text;
}

export function contentHash(c: CertificateContent): string {
  return createHash('sha256').update(canonicalContent(c), 'utf8').digest('hex');
}

const MEMO_PREFIX = 'gridmint:erc:v1';

/** The SPL Memo text anchoring a certificate: `gridmint:erc:v1:<certificate_id>:<sha256 hex>`. */
export function anchorMemo(certificateId: string, hash: string): string {
  return `${MEMO_PREFIX}:${certificateId}:${hash}`;
}

/** Parses an anchor memo; null when the text is not one. */
export function parseAnchorMemo(text: string): { certificateId: string; hash: string } | null {
  const m = /^gridmint:erc:v1:(ERC-[0-9]{4}-[0-9]{6,9}):([0-9a-f]{64})$/.exec(text.trim());
  return m ? { certificateId: m[1]!, hash: m[2]! } : null;
}

/** Metadata is a small flat object of scalars; the byte cap keeps rows and anchors bounded. */
export const METADATA_MAX_BYTES = 4096;

export function metadataProblem(metadata: unknown): string | null {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return 'metadata must be an object';
  const bytes = Buffer.byteLength(JSON.stringify(metadata), 'utf8');
  if (bytes > METADATA_MAX_BYTES) return `metadata is ${bytes} bytes; the limit is ${METADATA_MAX_BYTES}`;
  for (const v of Object.values(metadata)) {
    if (typeof v === 'number' && !Number.isFinite(v)) return 'metadata numbers must be finite';
    // jsonb refuses lone surrogates and the anchor's canonical form cannot hold them: a 400, not a 500
    const bad = typeof v === 'string' ? findUnsafeChar(v) : null;
    if (bad) return `metadata values may not contain ${bad}`;
  }
  return null;
}

/** Who acts on a certificate: the API's principal, as far as certificate rules need it. */
export interface CertificateCaller {
  sub: string;
  role: Role;
  wallet: string | null;
}

/** Owner, issuing authority or admin may see a certificate; everyone else is told it does not exist. */
export function mayViewCertificate(
  caller: CertificateCaller,
  row: { owner_wallet: string; issuer_user_id: string; issuer_wallet: string },
): boolean {
  if (caller.role === 'admin') return true;
  if (caller.wallet !== null && caller.wallet === row.owner_wallet) return true;
  return caller.role === 'rec_authority' && (caller.sub === row.issuer_user_id || caller.wallet === row.issuer_wallet);
}
