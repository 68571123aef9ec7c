import canonicalize from 'canonicalize';

/**
 * The bytes a meter signs: RFC 8785 (JCS) canonical JSON of the payload without `signature`.
 * For the v1 contract's flat string fields this is keys sorted, no whitespace, JSON escaping.
 */
export function canonicalBytes(payload: Readonly<Record<string, unknown>>): Buffer {
  const { signature: _omit, ...signed } = payload;
  const text = canonicalize(signed);
  if (text === undefined) throw new Error('payload cannot be canonicalised');
  return Buffer.from(text, 'utf8');
}
