import { DomainError, notFound } from '../domain/errors.js';
import { contentHash, mayViewCertificate, parseAnchorMemo, type CertificateCaller } from '../domain/erc.js';
import { numericToBaseUnits } from '../domain/kwh.js';
import type { Metrics } from '../metrics/registry.js';
import type { Pool } from '../store/pool.js';
import { singleFlightCache } from '../lib/single-flight.js';
import {
  backingOf, contentOf, getCertificate, getCertificateDetailJson, issueCertificate, listCertificatesJsonByOwner, listTransfers, retireCertificate, transferCertificate,
  type CertificateRow, type OwnershipResult, type TransferRow,
} from '../store/certificates.js';
import type { MemoChain } from './chain.js';

/** A certificate lists its reading ids and hashes them; this bounds both. */
export const MAX_READINGS_PER_CERTIFICATE = 100_000;
const MAX_PERIOD_MS = 366 * 24 * 3600 * 1000;

export interface IssueRequest {
  meterId: string;
  periodStart: string;
  periodEnd: string;
  metadata: Record<string, unknown>;
  issuer: { userId: string; wallet: string; name: string };
}

export type VerifyResult = 'match' | 'mismatch' | 'pending';

export interface Verification {
  certificate_id: string;
  result: VerifyResult;
  computed_hash: string;
  anchored_hash: string | null;
  blockchain_tx_signature: string | null;
  checks: { content_matches_anchor: boolean | null; backing_readings_match: boolean };
  detail: string;
}

/** A certificate with its transfer history, as the detail views show it. */
export interface CertificateRecord {
  certificate: CertificateRow;
  transfers: TransferRow[];
}

/** The caller of an owner's action: only a caller with a wallet can own anything. */
export type OwnerCaller = CertificateCaller & { wallet: string };

export interface ErcService {
  issue(req: IssueRequest): Promise<CertificateRow>;
  verify(id: string): Promise<Verification | null>;
  /** One certificate's detail view as JSON built by PostgreSQL, for a caller who may see it; otherwise `not_found`, as if it did not exist. */
  getJson(id: string, caller: CertificateCaller): Promise<string>;
  /** A page of the certificates a wallet owns, newest first, as a JSON array built by PostgreSQL. */
  listOwnedJson(wallet: string, limit: number, offset: number): Promise<string>;
  transfer(req: { id: string; caller: OwnerCaller; toWallet: string }): Promise<CertificateRecord>;
  retire(req: { id: string; caller: OwnerCaller; beneficiary: string; purpose: string | null }): Promise<CertificateRecord>;
}

/**
 * Issuing and verifying certificates. Issuance is one database transaction and then a nudge to
 * the anchor job; it never waits for, or fails because of, the chain.
 */
export function createErcService(deps: { pool: Pool; chain: MemoChain | null; metrics?: Metrics; onIssued?: () => void; memoCacheMs?: number }): ErcService {
  // verify is public and reads the chain: one lookup per anchor signature at a time, its answer
  // reused briefly, so the public cannot spend the RPC quota the minter needs. The database side
  // of verify is never cached, so tampering shows at once.
  const chain = deps.chain;
  const findMemo = chain ? singleFlightCache(deps.memoCacheMs ?? 2_000, (sig) => chain.findMemo(sig)) : null;
  return {
    async issue(req) {
      const start = Date.parse(req.periodStart);
      const end = Date.parse(req.periodEnd);
      if (!(end > start)) throw new DomainError('invalid_period', 'period_end must be after period_start');
      if (end - start > MAX_PERIOD_MS) throw new DomainError('invalid_period', 'a certificate period may span at most 366 days');
      const r = await issueCertificate(deps.pool, {
        meterId: req.meterId,
        periodStart: req.periodStart,
        periodEnd: req.periodEnd,
        issuerUserId: req.issuer.userId,
        issuerWallet: req.issuer.wallet,
        issuerName: req.issuer.name,
        metadata: req.metadata,
        maxReadings: MAX_READINGS_PER_CERTIFICATE,
      });
      if (!r.ok) {
        switch (r.reason) {
          case 'unknown_meter':
            throw notFound(`meter ${req.meterId}`);
          case 'no_readings':
            throw new DomainError('no_readings', 'the period holds no accepted readings for this meter');
          case 'already_certified':
            throw new DomainError('period_overlaps_certified', `the period overlaps ${r.count} reading(s) already backing a certificate`);
          case 'period_splits_reading':
            throw new DomainError('period_splits_reading', `reading ${r.span.reading_id} covers (${r.span.start}, ${r.span.end}], which crosses a boundary of the period; choose boundaries outside it`);
          case 'too_many_readings':
            throw new DomainError('period_too_large', `the period holds ${r.count} readings; at most ${MAX_READINGS_PER_CERTIFICATE} per certificate`);
        }
      }
      deps.metrics?.ercIssued.inc();
      deps.onIssued?.();
      return r.certificate;
    },

    async verify(id) {
      const row = await getCertificate(deps.pool, id);
      if (!row) return null;
      const computed = contentHash(contentOf(row));
      const backing = await backingOf(deps.pool, id);
      const backingOk =
        backing.count === row.reading_count && backing.kwh !== null && numericToBaseUnits(backing.kwh) === numericToBaseUnits(row.kwh_amount);
      const base = { certificate_id: id, computed_hash: computed, blockchain_tx_signature: row.blockchain_tx_signature };
      const backingNote = backingOk ? '' : '; the readings linked to it no longer add up to its kWh';

      if (!row.blockchain_tx_signature) {
        // Not anchored yet: the hash recorded at issuance is the only reference.
        const same = computed === row.content_hash;
        return {
          ...base,
          result: same && backingOk ? 'pending' : 'mismatch',
          anchored_hash: null,
          checks: { content_matches_anchor: null, backing_readings_match: backingOk },
          detail: (same ? 'the on-chain anchor is not confirmed yet' : 'the row no longer matches the hash recorded at issuance') + backingNote,
        };
      }
      if (!findMemo) throw new DomainError('chain_unavailable');
      const memo = await findMemo(row.blockchain_tx_signature);
      const anchor = memo ? parseAnchorMemo(memo) : null;
      if (!anchor || anchor.certificateId !== id) {
        return {
          ...base,
          result: 'mismatch',
          anchored_hash: anchor?.hash ?? null,
          checks: { content_matches_anchor: false, backing_readings_match: backingOk },
          detail: (anchor ? 'the anchor memo names another certificate' : 'the anchor transaction or its memo was not found on chain') + backingNote,
        };
      }
      const matches = anchor.hash === computed;
      return {
        ...base,
        result: matches && backingOk ? 'match' : 'mismatch',
        anchored_hash: anchor.hash,
        checks: { content_matches_anchor: matches, backing_readings_match: backingOk },
        detail: (matches ? 'the certificate matches its on-chain anchor' : 'the certificate differs from what was anchored on chain') + backingNote,
      };
    },

    async getJson(id, caller) {
      const found = await getCertificateDetailJson(deps.pool, id);
      if (!found || !mayViewCertificate(caller, found)) throw notFound(`certificate ${id}`);
      return found.json;
    },

    listOwnedJson: (wallet, limit, offset) => listCertificatesJsonByOwner(deps.pool, wallet, limit, offset),

    async transfer({ id, caller, toWallet }) {
      const r = await transferCertificate(deps.pool, { id, callerWallet: caller.wallet, callerSub: caller.sub, toWallet });
      if (!r.ok) throw await refusal(deps.pool, caller, r, id, 'transfer');
      return { certificate: r.certificate, transfers: await listTransfers(deps.pool, id) };
    },

    async retire({ id, caller, beneficiary, purpose }) {
      const r = await retireCertificate(deps.pool, { id, callerWallet: caller.wallet, beneficiary, purpose });
      if (!r.ok) throw await refusal(deps.pool, caller, r, id, 'retire');
      return { certificate: r.certificate, transfers: await listTransfers(deps.pool, id) };
    },
  };
}

/**
 * Why a transfer/retire was refused, as the caller may learn it: 404 unless they may see the
 * certificate — except a former owner (it was issued to them, or they transferred it away), who
 * learns that it moved on instead of a 404 for a certificate they know exists.
 */
async function refusal(pool: Pool, caller: OwnerCaller, r: Extract<OwnershipResult, { ok: false }>, id: string, action: string): Promise<DomainError> {
  const hidden = r.current !== null && !mayViewCertificate(caller, r.current);
  if (r.reason === 'not_owner' && r.current && hidden) {
    const wallet = caller.wallet;
    const former = r.current.issued_to_wallet === wallet || (await listTransfers(pool, id)).some((t) => t.from_wallet === wallet);
    if (former) return new DomainError('not_owner', `certificate ${id} was transferred to another wallet; only its current owner may ${action} it`);
  }
  if (r.reason === 'not_found' || hidden) return notFound(`certificate ${id}`);
  if (r.reason === 'not_owner') return new DomainError('not_owner', `only the current owner may ${action} this certificate`);
  if (r.reason === 'retired') return new DomainError('certificate_retired', 'the certificate is retired; retirement is final');
  return new DomainError('same_owner', 'the certificate already belongs to that wallet');
}
