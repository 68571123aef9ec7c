/**
 * Text that came from the network on its way to a log line, an error message or a text column.
 * PostgreSQL text cannot hold U+0000 (SQLSTATE 22021) and control characters make logs and
 * dashboards lie, so they are escaped as \uXXXX — as are UTF-16 lone surrogates, which are not
 * text at all (node's UTF-8 encoder would silently turn them into U+FFFD).
 */

/** C0 controls, DEL, C1 controls and any UTF-16 surrogate not part of a pair. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function isUnsafeUnit(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f) || (code >= 0xd800 && code <= 0xdfff);
}

const hex4 = (code: number) => code.toString(16).toUpperCase().padStart(4, '0');

/** The first unsafe character of `s` described for a reason detail ("U+0000 at 3"), or null. */
export function findUnsafeChar(s: string): string | null {
  const m = UNSAFE.exec(s);
  if (!m) return null;
  const code = m[0].charCodeAt(0);
  const what = code >= 0xd800 && code <= 0xdfff ? 'lone surrogate' : 'control character';
  return `${what} U+${hex4(code)} at ${m.index}`;
}

/**
 * `s` with unsafe characters escaped as \uXXXX, cut to at most `maxChars` characters (then ending
 * in "…"). Never splits a surrogate pair or an escape. Walks only as far as the cap, so a 64 KiB
 * topic costs no more than a short one.
 */
export function safeText(s: string, maxChars: number): string {
  let out = '';
  let consumed = 0;
  for (const ch of s) {
    // for…of yields a lone surrogate as a one-unit string and a pair as one two-unit string
    consumed += ch.length;
    const code = ch.charCodeAt(0);
    const piece = ch.length === 1 && isUnsafeUnit(code) ? `\\u${hex4(code)}` : ch;
    const more = consumed < s.length; // then "…" must still fit after this piece
    if (out.length + piece.length + (more ? 1 : 0) > maxChars) return `${out}…`;
    out += piece;
  }
  return out;
}
