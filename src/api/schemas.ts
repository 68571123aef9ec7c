import { Type, type Static, type TArray, type TObject, type TSchema, type TSchemaOptions } from 'typebox';
import { CERTIFICATE_ID_PATTERN } from '../domain/erc.js';

/**
 * Shared TypeBox schemas for route definitions: each is the JSON schema the validator and the
 * OpenAPI document at /docs use, and (through the type provider) the handler's TypeScript type.
 */

/**
 * `{ type: 'string', enum }`, typed as the union of its values. (TypeBox's literal unions would
 * emit `anyOf` of `const`s, a different document for the same rule.)
 */
export function stringEnum<const V extends readonly string[]>(values: V, options: TSchemaOptions = {}) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...options });
}

/** `schema` or null, as one `type: [t, 'null']` (not an `anyOf`), so /docs shows the field once. */
export function nullable<T extends TSchema & { type: string }>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });
}

/** An object of any properties whose values match `values` (e.g. named health checks). */
export function mapOf<T extends TSchema>(values: T, options: TSchemaOptions = {}) {
  return Type.Unsafe<Record<string, Static<T>>>({ type: 'object', additionalProperties: values, ...options });
}

export const errorBody = Type.Object({
  error: Type.Object({
    code: Type.String({ examples: ['not_found'] }),
    message: Type.String({ examples: ['certificate ERC-2026-000042 not found'] }),
  }),
});

/**
 * Realistic examples for /docs (the README's test vector), instead of strings generated from the
 * patterns. `examples` becomes the OpenAPI `example`.
 */
export const EXAMPLE = {
  wallet: '586Z7H2vpX9qNhN2T4e9Utugie3ogjbxzGaMtM3E6HR5',
  meterPubkey: 'FVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z',
  meterId: 'meter-001',
  kwh: '1.234567891',
  timestamp: '2026-11-25T12:15:00Z',
  certificateId: 'ERC-2026-000042',
  readingId: '1042',
  signature: '4zFa5QCekxcDCNdfNn3VKohrc9iLUq5UuomHnHUaQwVaUzt7ssqp5tK9HMEgSw5tpDXPMCzvYYXGvGMgRcJotMEC',
} as const;

export const walletString = Type.String({ pattern: '^[1-9A-HJ-NP-Za-km-z]{32,44}$', examples: [EXAMPLE.wallet] });
export const meterIdString = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', examples: [EXAMPLE.meterId] });
/** Decimal kWh (≤ 9 fractional digits) as a string, never a float; `options` add a default or description. */
export function kwh(options: TSchemaOptions = {}) {
  return Type.String({ pattern: '^(0|[1-9][0-9]{0,10})(\\.[0-9]{1,9})?$', examples: [EXAMPLE.kwh], ...options });
}
export const kwhString = kwh();

/**
 * `?limit=&offset=`. Both may be left out and the validator fills in the defaults, so the
 * handler's type has both (the schema keeps them optional).
 */
export const pageQuery = Type.Unsafe<{ limit: number; offset: number }>(
  Type.Object(
    {
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
      offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
    },
    { additionalProperties: false },
  ),
);

/** The standard refusals a route documents alongside its 2xx responses. */
export function withErrors<T extends Record<number, TSchema>, C extends number>(ok: T, ...codes: C[]): T & Record<C, typeof errorBody> {
  const out: Record<number, TSchema> = { ...ok };
  for (const c of codes) out[c] = errorBody;
  return out as T & Record<C, typeof errorBody>;
}

/** RFC 3339 with at most millisecond precision, so what is stored is exactly what was sent. */
export const timestampString = Type.String({
  format: 'date-time',
  maxLength: 35,
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?(Z|[+-][0-9]{2}:[0-9]{2})$',
  examples: [EXAMPLE.timestamp],
});

export const certificateIdString = Type.String({ pattern: CERTIFICATE_ID_PATTERN, examples: [EXAMPLE.certificateId] });

/** Free text a person types (names, beneficiaries): bounded, no control characters. */
export function freeText(maxLength: number, options: TSchemaOptions = {}) {
  return Type.String({ minLength: 1, maxLength, pattern: '^[^\\u0000-\\u001f\\u007f]+$', ...options });
}

/** Where a page of a list starts and how long it may be, as asked; `total` where the list counts. */
const pageInfo = Type.Object({
  limit: Type.Integer({ examples: [50] }),
  offset: Type.Integer({ examples: [0] }),
  total: Type.Optional(Type.Integer({ minimum: 0, examples: [1234], description: 'how many there are in all (only lists that count them)' })),
});

/**
 * The one shape of a page of a list (the answer to a `pageQuery`):
 * `{ [key]: items[], page: { limit, offset, total? } }`.
 */
export function pageOf<K extends string, T extends TSchema>(key: K, items: T, options: TSchemaOptions = {}) {
  const props = { [key]: Type.Array(items), page: pageInfo } as { [P in K]: TArray<T> } & { page: typeof pageInfo };
  return Type.Object(props, options) as TObject<typeof props>;
}
