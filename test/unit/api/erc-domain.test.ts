import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  anchorMemo, canonicalContent, contentHash, formatCertificateId, metadataProblem, parseAnchorMemo, type CertificateContent,
} from '../../../src/domain/erc.js';
import { anchorBackoffMs } from '../../../src/erc/anchor.js';

const content: CertificateContent = {
  certificate_id: 'ERC-2025-000001',
  meter_id: 'm1',
  issued_to_wallet: '4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T',
  period_start: '2025-01-01T00:00:00.000Z',
  period_end: '2025-01-02T00:00:00.000Z',
  kwh_amount: '1.5',
  reading_ids: ['1', '2'],
  issuer_wallet: '9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin',
  issuer_name: 'Registry é',
  issued_at: '2025-01-03T00:00:00.000Z',
  metadata: { z: 1, a: 'x' },
};

describe('certificate ids', () => {
  it('formats ERC-YYYY-NNNNNN and widens past a million', () => {
    expect(formatCertificateId(2025, 1)).toBe('ERC-2025-000001');
    expect(formatCertificateId(2025, 999_999)).toBe('ERC-2025-999999');
    expect(formatCertificateId(2025, 1_000_000)).toBe('ERC-2025-1000000');
    expect(() => formatCertificateId(2025, 0)).toThrow();
    expect(() => formatCertificateId(25, 1)).toThrow();
  });
});

describe('canonical content and hash', () => {
  it('is RFC 8785: sorted keys, no whitespace, and the hash is SHA-256 of it', () => {
    const text = canonicalContent(content);
    expect(text.startsWith('{"certificate_id":"ERC-2025-000001","issued_at"')).toBe(true);
    expect(text).toContain('"metadata":{"a":"x","z":1}');
    expect(text).toContain('"v":"gridmint-erc-v1"');
    expect(text).not.toMatch(/[:,] /);
    expect(contentHash(content)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
  });

  it('does not depend on key order but does on every value', () => {
    const shuffled = Object.fromEntries(Object.entries(content).reverse()) as unknown as CertificateContent;
    expect(contentHash(shuffled)).toBe(contentHash(content));
    for (const [k, v] of Object.entries({ kwh_amount: '1.50', reading_ids: ['1'], issuer_name: 'Registry e', metadata: { z: 2, a: 'x' } })) {
      expect(contentHash({ ...content, [k]: v })).not.toBe(contentHash(content));
    }
  });
});

describe('anchor memo', () => {
  it('round-trips and refuses anything else', () => {
    const hash = contentHash(content);
    expect(parseAnchorMemo(anchorMemo('ERC-2025-000001', hash))).toEqual({ certificateId: 'ERC-2025-000001', hash });
    expect(Buffer.byteLength(anchorMemo('ERC-2025-000001', hash))).toBeLessThan(120);
    expect(parseAnchorMemo('hello')).toBeNull();
    expect(parseAnchorMemo(`gridmint:erc:v1:ERC-2025-000001:${hash.toUpperCase()}`)).toBeNull();
  });
});

describe('metadata bounds and anchor backoff', () => {
  it('bounds metadata by bytes', () => {
    expect(metadataProblem({ a: 1 })).toBeNull();
    expect(metadataProblem({ a: 'é'.repeat(3000) })).toMatch(/limit is 4096/);
    expect(metadataProblem([])).toMatch(/object/);
  });
  it('backs off 2 s doubling up to 5 minutes', () => {
    expect([1, 2, 3, 9, 50].map(anchorBackoffMs)).toEqual([2_000, 4_000, 8_000, 300_000, 300_000]);
  });
});
