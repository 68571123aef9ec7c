/**
 * A strict JSON reader that keeps every number as the exact text it was written with. OCMF
 * meters write register values as JSON numbers (`"RV":0.2596`); JSON.parse would turn them into
 * floats, and Node 20 has no way to see a number's source text, so values are scanned here.
 */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type ExactJson = null | boolean | string | JsonNumber | ExactJson[] | { [k: string]: ExactJson };

export class ExactJsonError extends Error {
  override name = 'ExactJsonError';
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const MAX_DEPTH = 32;

/** Parses `text` (the whole of it) into values whose numbers are JsonNumber. */
export function parseExactJson(text: string): ExactJson {
  let i = 0;
  const fail = (what: string): never => {
    throw new ExactJsonError(`${what} at offset ${i}`);
  };
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = (): string => {
    // JSON.parse on the exact string literal: escapes are decoded by the platform, not by hand
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail('bad string');
    }
  };
  const value = (depth: number): ExactJson => {
    if (depth > MAX_DEPTH) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === '"') return str();
    if (c === '{') {
      i++;
      const obj: Record<string, ExactJson> = Object.create(null) as Record<string, ExactJson>;
      ws();
      if (text[i] === '}') return i++, obj;
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const k = str();
        if (k in obj) fail(`duplicate key ${JSON.stringify(k)}`);
        ws();
        if (text[i++] !== ':') fail('expected :');
        obj[k] = value(depth + 1);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return i++, obj;
        else fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const arr: ExactJson[] = [];
      ws();
      if (text[i] === ']') return i++, arr;
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return i++, arr;
        else fail('expected , or ]');
      }
    }
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) return (i += word.length), v;
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail('unexpected character');
    i += m[0].length;
    return new JsonNumber(m[0]);
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing data');
  return v;
}

export function isObject(v: ExactJson | undefined): v is { [k: string]: ExactJson } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}
