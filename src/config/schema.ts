import Type, { type Static, type TSchema } from 'typebox';

// One flat key per setting, named exactly like its environment variable, so an operator can
// move any value between config/default.json, a GRIDMINT_CONFIG file and the environment.
// The schema is the only description of a setting: `Config` is derived from it (Static), and
// Type.Object makes every key required, so there is no separate `required` list to keep in step.

/**
 * A setting that may be null ("not set": embedded database, broker, ledger…). Written as
 * `type: [T, 'null']` rather than TypeBox's anyOf union so that Ajv reports one plain error per
 * key ("must match pattern …") instead of one per branch, and env coercion keeps working.
 */
const nullable = <S extends TSchema & { type: string }>(schema: S) => Type.Unsafe<Static<S> | null>({ ...schema, type: [schema.type, 'null'] });
/** String enum: `{ type: 'string', enum }`, so the error lists the allowed values. */
const oneOf = <const V extends string[]>(values: readonly [...V]) => Type.Enum(values, { type: 'string' });

export const configSchema = Type.Object(
  {
    NODE_ENV: oneOf(['development', 'production', 'test']),
    /** null → embedded PostgreSQL under DATA_DIR/pg on EMBEDDED_PG_PORT */
    DATABASE_URL: nullable(Type.String({ pattern: '^postgres(ql)?://' })),
    EMBEDDED_PG_PORT: Type.Integer({ minimum: 1, maximum: 65535 }),
    PG_POOL_SIZE: Type.Integer({ minimum: 2, maximum: 200 }),
    /** null → embedded aedes broker on MQTT_HOST:MQTT_PORT */
    MQTT_URL: nullable(Type.String({ pattern: '^(mqtts?|tcp|tls)://' })),
    MQTT_PORT: Type.Integer({ minimum: 0, maximum: 65535 }),
    MQTT_HOST: Type.String({ minLength: 1 }),
    MQTT_SHARE_GROUP: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    MQTT_SUBSCRIBER_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 256 }),
    MQTT_CLIENT_ID: nullable(Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' })),
    MQTT_USERNAME: nullable(Type.String()),
    MQTT_PASSWORD: nullable(Type.String()),
    /** embedded broker: largest MQTT packet, and the bound on bytes read before a CONNECT authenticates */
    MQTT_MAX_PACKET_BYTES: Type.Integer({ minimum: 1024, maximum: 268435455 }),
    MQTT_MAX_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 1000000 }),
    /** embedded broker: connections per address that have not authenticated yet */
    MQTT_MAX_UNAUTHENTICATED_PER_IP: Type.Integer({ minimum: 1, maximum: 1000000 }),
    /** embedded broker: a CONNECT must arrive within this (≤ 10 s) */
    MQTT_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 10000 }),
    HTTP_PORT: Type.Integer({ minimum: 0, maximum: 65535 }),
    HTTP_HOST: Type.String({ minLength: 1 }),
    DATA_DIR: Type.String({ minLength: 1 }),
    LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    INGEST_BATCH_MAX: Type.Integer({ minimum: 1, maximum: 5000 }),
    INGEST_BATCH_WAIT_MS: Type.Integer({ minimum: 0, maximum: 1000 }),
    INGEST_MAX_PENDING: Type.Integer({ minimum: 100, maximum: 1000000 }),
    /**
     * 0 → verify signatures on the main thread. Default 1: each worker is ≈ 16–20 MiB (V8
     * isolate, libsodium, Ajv), and one keeps the daemon within its 200 MiB budget. On the 2-core
     * reference machine a second one adds ≈ 10 % to the embedded broker's flat-out rate and ≈ 20 %
     * through Mosquitto (README "Measured figures"); raise it where cores and memory allow.
     */
    INGEST_VERIFY_WORKERS: Type.Integer({ minimum: 0, maximum: 64 }),
    READING_MAX_AGE_SECONDS: Type.Integer({ minimum: 60 }),
    READING_MAX_FUTURE_SECONDS: Type.Integer({ minimum: 0 }),
    /** null → embedded LiteSVM ledger on 127.0.0.1:LEDGER_PORT */
    SOLANA_RPC_URL: nullable(Type.String({ pattern: '^https?://' })),
    SOLANA_CLUSTER: Type.String({ minLength: 1 }),
    LEDGER_PORT: Type.Integer({ minimum: 0, maximum: 65535 }),
    MINT_ADDRESS: nullable(Type.String({ pattern: '^[1-9A-HJ-NP-Za-km-z]{32,44}$' })),
    /** null → DATA_DIR/keys/mint-authority.json, created on first run */
    MINT_AUTHORITY_KEYPAIR: nullable(Type.String()),
    MINT_SCHEDULE: Type.String({ minLength: 9 }),
    MINT_ENABLED: Type.Boolean(),
    MINT_MAX_READINGS_PER_RUN: Type.Integer({ minimum: 1 }),
    /** null outside production → generated and stored under DATA_DIR/keys */
    JWT_SECRET: nullable(Type.String({ minLength: 32 })),
    JWT_PUBLIC_KEY: nullable(Type.String()),
    JWT_ISSUER: nullable(Type.String()),
    RATE_LIMIT_WRITES_PER_MINUTE: Type.Integer({ minimum: 1 }),
    /** 'v0' → mintTo to existing accounts packed through address lookup tables; 'legacy' → never */
    MINT_TX_FORMAT: oneOf(['v0', 'legacy']),
    /** how long a fetched token balance is served from memory; 0 → every request asks the chain */
    BALANCE_CACHE_MS: Type.Integer({ minimum: 0, maximum: 600000 }),
    /** true → provision meters in Mosquitto's dynamic security plugin (MQTT_URL's account must be a dynsec admin) */
    MQTT_DYNSEC: Type.Boolean(),
    /** longest token lifetime (exp − iat) the verifier accepts and `gridmint jwt` signs */
    JWT_MAX_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 31622400 }),
    /** when set, tokens must carry it in `aud`; `gridmint jwt` sets it */
    JWT_AUDIENCE: nullable(Type.String({ minLength: 1, maxLength: 200 })),
    /** fastify trustProxy: false, true, a hop count, or trusted proxy addresses/CIDRs (comma-separated) */
    HTTP_TRUST_PROXY: Type.String({ pattern: '^(true|false|[0-9]{1,2}|[0-9A-Fa-f:.,/ ]{2,1000})$' }),
    /** per-client limit on public endpoints that reach the chain */
    RATE_LIMIT_PUBLIC_PER_MINUTE: Type.Integer({ minimum: 1 }),
    /** most tokens one operator mint may mint */
    OPERATOR_MINT_MAX_TOKENS: Type.Integer({ minimum: 1, maximum: 18446744073 }),
  },
  { additionalProperties: false },
);

/** The validated, frozen configuration: exactly what the schema above accepts. */
export type Config = Readonly<Static<typeof configSchema>>;
