import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { anchorMemo, canonicalContent, contentHash, parseAnchorMemo, type CertificateContent } from '../../../src/domain/erc.js';
import { contentOf, type CertificateRow } from '../../../src/store/certificates.js';

/**
 * A FIXED vector for the certificate anchor (also printed in the README, "On-chain anchor").
 * Every literal below was computed once and frozen; `sha256sum` of the canonical text gives the
 * same hash. If this test breaks, the anchored format changed: every certificate already anchored
 * would verify as `mismatch`. Do not update the literals; add a new content version instead.
 */
const content: CertificateContent = {
  certificate_id: 'ERC-2025-000042',
  meter_id: 'meter-001',
  issued_to_wallet: '586Z7H2vpX9qNhN2T4e9Utugie3ogjbxzGaMtM3E6HR5',
  period_start: '2025-03-01T00:00:00.000Z',
  period_end: '2025-03-01T01:00:00.000Z',
  kwh_amount: '12345.978901235',
  reading_ids: ['7', '8', '10', '11'],
  issuer_wallet: '9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin',
  issuer_name: 'Grüne Energie GmbH',
  issued_at: '2025-03-02T08:30:00.000Z',
  metadata: { vintage: 2025, program: 'GO-EU', verified: true, share: 0.5 },
};

const CANONICAL =
  '{"certificate_id":"ERC-2025-000042","issued_at":"2025-03-02T08:30:00.000Z",' +
  '"issued_to_wallet":"586Z7H2vpX9qNhN2T4e9Utugie3ogjbxzGaMtM3E6HR5","issuer_name":"Grüne Energie GmbH",' +
  '"issuer_wallet":"9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin","kwh_amount":"12345.978901235",' +
  '"metadata":{"program":"GO-EU","share":0.5,"verified":true,"vintage":2025},"meter_id":"meter-001",' +
  '"period_end":"2025-03-01T01:00:00.000Z","period_start":"2025-03-01T00:00:00.000Z",' +
  '"reading_ids":["7","8","10","11"],"v":"gridmint-erc-v1"}';
const CANONICAL_BYTES = 506; // UTF-8: "ü" is two bytes
const SHA256 = '66da18fcc5b319d6e83739a0aaac5ad8e918b7af10585f7ca7a5eae8155b44e5';
const MEMO = 'gridmint:erc:v1:ERC-2025-000042:66da18fcc5b319d6e83739a0aaac5ad8e918b7af10585f7ca7a5eae8155b44e5';

describe('certificate anchor: fixed vector', () => {
  it('content → canonical bytes → sha256 → memo string, exactly', () => {
    const text = canonicalContent(content);
    expect(text).toBe(CANONICAL);
    expect(Buffer.byteLength(text, 'utf8')).toBe(CANONICAL_BYTES);
    expect(createHash('sha256').update(Buffer.from(CANONICAL, 'utf8')).digest('hex')).toBe(SHA256);
    expect(contentHash(content)).toBe(SHA256);
    expect(anchorMemo(content.certificate_id, SHA256)).toBe(MEMO);
    expect(parseAnchorMemo(MEMO)).toEqual({ certificateId: 'ERC-2025-000042', hash: SHA256 });
  });

  it('a row as PostgreSQL returns it (Date, NUMERIC text, bigint ids) hashes to the same vector', () => {
    const row = {
      ...content,
      period_start: new Date('2025-03-01T00:00:00Z'),
      period_end: new Date('2025-03-01T01:00:00Z'),
      issued_at: new Date('2025-03-02T08:30:00Z'),
      kwh_amount: '12345.978901235', // numeric(30,9)::text would also read '12345.978901235'
      reading_ids: ['7', '8', '10', '11'],
      metadata: { program: 'GO-EU', share: 0.5, verified: true, vintage: 2025 }, // jsonb reorders keys
    } as unknown as CertificateRow;
    expect(contentHash(contentOf(row))).toBe(SHA256);
    expect(contentHash(contentOf({ ...row, kwh_amount: '12345.978901235000' }))).toBe(SHA256);
  });
});
