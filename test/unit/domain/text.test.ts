import { describe, expect, it } from 'vitest';
import { findUnsafeChar, safeText } from '../../../src/domain/text.js';

describe('safeText: network text on its way to a text column', () => {
  it('escapes NUL, control characters and lone surrogates, keeps real text and pairs', () => {
    expect(safeText('meters/a\u0000b/readings', 256)).toBe('meters/a\\u0000b/readings');
    expect(safeText('x\u001b[31m\u007f\u0085', 256)).toBe('x\\u001B[31m\\u007F\\u0085');
    expect(safeText('a\ud800b\udc00', 256)).toBe('a\\uD800b\\uDC00');
    expect(safeText('⚡🔋 ok', 256)).toBe('⚡🔋 ok');
  });

  it('caps the length without splitting a pair or an escape', () => {
    expect(safeText('a'.repeat(65_535), 256)).toBe(`${'a'.repeat(255)}…`);
    expect(safeText('a'.repeat(256), 256)).toBe('a'.repeat(256));
    const emoji = safeText('🔋'.repeat(200), 9);
    expect(emoji).toBe('🔋🔋🔋🔋…');
    const nul = safeText('\u0000'.repeat(10), 15);
    expect(nul).toBe('\\u0000\\u0000…');
    expect(findUnsafeChar(safeText('\ud800'.repeat(100), 50))).toBeNull();
  });

  it('names the first unsafe character', () => {
    expect(findUnsafeChar('ab\u0000')).toBe('control character U+0000 at 2');
    expect(findUnsafeChar('\udfff')).toBe('lone surrogate U+DFFF at 0');
    expect(findUnsafeChar('fine 🔋')).toBeNull();
  });
});
