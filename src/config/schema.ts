// One flat key per setting, named exactly like its environment variable, so an operator can
// move any value between config/default.json, a GRIDMINT_CONFIG file and the environment.
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    NODE_ENV: { type: 'string', enum: ['development', 'production', 'test'] },
    DATABASE_URL: { type: ['string', 'null'], pattern: '^postgres(ql)?://' },
    EMBEDDED_PG_PORT: { type: 'integer', minimum: 1, maximum: 65535 },
    PG_POOL_SIZE: { type: 'integer', minimum: 2, maximum: 200 },
    MQTT_URL: { type: ['string', 'null'], pattern: '^(mqtts?|tcp|tls)://' },
    MQTT_PORT: { type: 'integer', minimum: 0, maximum: 65535 },
    MQTT_HOST: { type: 'string', minLength: 1 },
    MQTT_SHARE_GROUP: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    MQTT_SUBSCRIBER_CONNECTIONS: { type: 'integer', minimum: 1, maximum: 256 },
    MQTT_CLIENT_ID: { type: ['string', 'null'], pattern: '^[A-Za-z0-9._-]{1,64}$' },
    MQTT_USERNAME: { type: ['string', 'null'] },
    MQTT_PASSWORD: { type: ['string', 'null'] },
    MQTT_MAX_PACKET_BYTES: { type: 'integer', minimum: 1024, maximum: 268435455 },
    MQTT_MAX_CONNECTIONS: { type: 'integer', minimum: 1, maximum: 1000000 },
    MQTT_MAX_UNAUTHENTICATED_PER_IP: { type: 'integer', minimum: 1, maximum: 1000000 },
    MQTT_CONNECT_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 10000 },
    HTTP_PORT: { type: 'integer', minimum: 0, maximum: 65535 },
    HTTP_HOST: { type: 'string', minLength: 1 },
    DATA_DIR: { type: 'string', minLength: 1 },
    LOG_LEVEL: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    INGEST_BATCH_MAX: { type: 'integer', minimum: 1, maximum: 5000 },
    INGEST_BATCH_WAIT_MS: { type: 'integer', minimum: 0, maximum: 1000 },
    INGEST_MAX_PENDING: { type: 'integer', minimum: 100, maximum: 1000000 },
    INGEST_VERIFY_WORKERS: { type: 'integer', minimum: 0, maximum: 64 },
    READING_MAX_AGE_SECONDS: { type: 'integer', minimum: 60 },
    READING_MAX_FUTURE_SECONDS: { type: 'integer', minimum: 0 },
    SOLANA_RPC_URL: { type: ['string', 'null'], pattern: '^https?://' },
    SOLANA_CLUSTER: { type: 'string', minLength: 1 },
    LEDGER_PORT: { type: 'integer', minimum: 0, maximum: 65535 },
    MINT_ADDRESS: { type: ['string', 'null'], pattern: '^[1-9A-HJ-NP-Za-km-z]{32,44}$' },
    MINT_AUTHORITY_KEYPAIR: { type: ['string', 'null'] },
    MINT_SCHEDULE: { type: 'string', minLength: 9 },
    MINT_ENABLED: { type: 'boolean' },
    MINT_MAX_READINGS_PER_RUN: { type: 'integer', minimum: 1 },
    JWT_SECRET: { type: ['string', 'null'], minLength: 32 },
    JWT_PUBLIC_KEY: { type: ['string', 'null'] },
    JWT_ISSUER: { type: ['string', 'null'] },
    RATE_LIMIT_WRITES_PER_MINUTE: { type: 'integer', minimum: 1 },
    MINT_TX_FORMAT: { type: 'string', enum: ['v0', 'legacy'] },
    BALANCE_CACHE_MS: { type: 'integer', minimum: 0, maximum: 600000 },
    MQTT_DYNSEC: { type: 'boolean' },
    JWT_MAX_TTL_SECONDS: { type: 'integer', minimum: 60, maximum: 31622400 },
    JWT_AUDIENCE: { type: ['string', 'null'], minLength: 1, maxLength: 200 },
    HTTP_TRUST_PROXY: { type: 'string', pattern: '^(true|false|[0-9]{1,2}|[0-9A-Fa-f:.,/ ]{2,1000})$' },
    RATE_LIMIT_PUBLIC_PER_MINUTE: { type: 'integer', minimum: 1 },
    OPERATOR_MINT_MAX_TOKENS: { type: 'integer', minimum: 1, maximum: 18446744073 },
  },
  required: [
    'NODE_ENV', 'DATABASE_URL', 'EMBEDDED_PG_PORT', 'PG_POOL_SIZE', 'MQTT_URL', 'MQTT_PORT', 'MQTT_HOST',
    'MQTT_SHARE_GROUP', 'MQTT_SUBSCRIBER_CONNECTIONS', 'MQTT_CLIENT_ID', 'MQTT_USERNAME', 'MQTT_PASSWORD',
    'MQTT_MAX_PACKET_BYTES', 'MQTT_MAX_CONNECTIONS', 'MQTT_MAX_UNAUTHENTICATED_PER_IP', 'MQTT_CONNECT_TIMEOUT_MS',
    'HTTP_PORT', 'HTTP_HOST', 'DATA_DIR', 'LOG_LEVEL', 'INGEST_BATCH_MAX', 'INGEST_BATCH_WAIT_MS',
    'INGEST_MAX_PENDING', 'INGEST_VERIFY_WORKERS', 'READING_MAX_AGE_SECONDS', 'READING_MAX_FUTURE_SECONDS',
    'SOLANA_RPC_URL', 'SOLANA_CLUSTER', 'LEDGER_PORT', 'MINT_ADDRESS', 'MINT_AUTHORITY_KEYPAIR',
    'MINT_SCHEDULE', 'MINT_ENABLED', 'MINT_MAX_READINGS_PER_RUN', 'JWT_SECRET', 'JWT_PUBLIC_KEY',
    'JWT_ISSUER', 'RATE_LIMIT_WRITES_PER_MINUTE',
    'MINT_TX_FORMAT', 'BALANCE_CACHE_MS', 'MQTT_DYNSEC',
    'JWT_MAX_TTL_SECONDS', 'JWT_AUDIENCE', 'HTTP_TRUST_PROXY', 'RATE_LIMIT_PUBLIC_PER_MINUTE', 'OPERATOR_MINT_MAX_TOKENS',
  ],
} as const;

export interface Config {
  readonly NODE_ENV: 'development' | 'production' | 'test';
  /** null → embedded PostgreSQL under DATA_DIR/pg on EMBEDDED_PG_PORT */
  readonly DATABASE_URL: string | null;
  readonly EMBEDDED_PG_PORT: number;
  readonly PG_POOL_SIZE: number;
  /** null → embedded aedes broker on MQTT_HOST:MQTT_PORT */
  readonly MQTT_URL: string | null;
  readonly MQTT_PORT: number;
  readonly MQTT_HOST: string;
  readonly MQTT_SHARE_GROUP: string;
  readonly MQTT_SUBSCRIBER_CONNECTIONS: number;
  readonly MQTT_CLIENT_ID: string | null;
  readonly MQTT_USERNAME: string | null;
  readonly MQTT_PASSWORD: string | null;
  /** embedded broker: largest MQTT packet, and the bound on bytes read before a CONNECT authenticates */
  readonly MQTT_MAX_PACKET_BYTES: number;
  readonly MQTT_MAX_CONNECTIONS: number;
  /** embedded broker: connections per address that have not authenticated yet */
  readonly MQTT_MAX_UNAUTHENTICATED_PER_IP: number;
  /** embedded broker: a CONNECT must arrive within this (≤ 10 s) */
  readonly MQTT_CONNECT_TIMEOUT_MS: number;
  readonly HTTP_PORT: number;
  readonly HTTP_HOST: string;
  readonly DATA_DIR: string;
  readonly LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly INGEST_BATCH_MAX: number;
  readonly INGEST_BATCH_WAIT_MS: number;
  readonly INGEST_MAX_PENDING: number;
  /** 0 → verify signatures on the main thread */
  readonly INGEST_VERIFY_WORKERS: number;
  readonly READING_MAX_AGE_SECONDS: number;
  readonly READING_MAX_FUTURE_SECONDS: number;
  /** null → embedded LiteSVM ledger on 127.0.0.1:LEDGER_PORT */
  readonly SOLANA_RPC_URL: string | null;
  readonly SOLANA_CLUSTER: string;
  readonly LEDGER_PORT: number;
  readonly MINT_ADDRESS: string | null;
  /** null → DATA_DIR/keys/mint-authority.json, created on first run */
  readonly MINT_AUTHORITY_KEYPAIR: string | null;
  readonly MINT_SCHEDULE: string;
  readonly MINT_ENABLED: boolean;
  readonly MINT_MAX_READINGS_PER_RUN: number;
  /** null outside production → generated and stored under DATA_DIR/keys */
  readonly JWT_SECRET: string | null;
  readonly JWT_PUBLIC_KEY: string | null;
  readonly JWT_ISSUER: string | null;
  readonly RATE_LIMIT_WRITES_PER_MINUTE: number;
  /** 'v0' → mintTo to existing accounts packed through address lookup tables; 'legacy' → never */
  readonly MINT_TX_FORMAT: 'v0' | 'legacy';
  /** how long a fetched token balance is served from memory; 0 → every request asks the chain */
  readonly BALANCE_CACHE_MS: number;
  /** true → provision meters in Mosquitto's dynamic security plugin (MQTT_URL's account must be a dynsec admin) */
  readonly MQTT_DYNSEC: boolean;
  /** longest token lifetime (exp − iat) the verifier accepts and `gridmint jwt` signs */
  readonly JWT_MAX_TTL_SECONDS: number;
  /** when set, tokens must carry it in `aud`; `gridmint jwt` sets it */
  readonly JWT_AUDIENCE: string | null;
  /** fastify trustProxy: false, true, a hop count, or trusted proxy addresses/CIDRs (comma-separated) */
  readonly HTTP_TRUST_PROXY: string;
  /** per-client limit on public endpoints that reach the chain */
  readonly RATE_LIMIT_PUBLIC_PER_MINUTE: number;
  /** most tokens one operator mint may mint */
  readonly OPERATOR_MINT_MAX_TOKENS: number;
}
