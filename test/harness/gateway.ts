import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/load.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { startGateway, type Gateway } from '../../src/main.js';
import { createTestDatabase, type TestDatabase } from './db.js';

export interface TestGateway {
  gateway: Gateway;
  db: TestDatabase;
  config: Config;
  stop(): Promise<void>;
}

/**
 * A whole in-process gateway on a fresh test database: HTTP, MQTT and ledger on port 0 (read the
 * real addresses from `gateway.urls`), DATA_DIR in a temp directory, logs silent unless
 * TEST_LOG_LEVEL is set (or `opts.logger`, e.g. from `captureLog`). The process environment is
 * ignored so a developer's DATABASE_URL or MQTT_URL cannot leak in; pass everything through
 * `overrides`. With `opts.db` the database is the caller's (not dropped on stop).
 */
export async function startTestGateway(overrides: Partial<Config> = {}, opts: { db?: TestDatabase; logger?: Logger } = {}): Promise<TestGateway> {
  const db = opts.db ?? (await createTestDatabase());
  const dataDir = mkdtempSync(join(tmpdir(), 'gridmint-gw-'));
  const config = loadConfig({
    env: {},
    overrides: {
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      HTTP_PORT: 0,
      HTTP_HOST: '127.0.0.1',
      MQTT_PORT: 0,
      MQTT_HOST: '127.0.0.1',
      LEDGER_PORT: 0,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      INGEST_BATCH_WAIT_MS: 2,
      ...overrides,
    },
  });
  const logger = opts.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? config.LOG_LEVEL);
  let gateway: Gateway;
  try {
    gateway = await startGateway(config, logger);
  } catch (err) {
    if (!opts.db) await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    gateway,
    db,
    config,
    async stop() {
      if (stopped) return;
      stopped = true;
      await gateway.stop();
      if (!opts.db) await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
