/**
 * The test harness: every fixture a test needs, on real parts (PostgreSQL, Mosquitto, the ledger,
 * child processes). Import from here only.
 *
 * | fixture | what it is |
 * |---|---|
 * | `createTestDatabase()` | a fresh migrated database of its own; `drop()` after |
 * | `startTestGateway(overrides, { db?, logger? })` | the whole gateway in-process, ports 0 |
 * | `startTestApi({ chain?, … })` | the certificate/admin-meter/my-readings routes only, for `app.inject` |
 * | `startTestMinter()` | database + local ledger + chain client + fresh minters, no gateway |
 * | `startTestLedger()` | an in-memory local ledger and a funded chain client, no database |
 * | `startDaemon(env, opts)` / `spawnDaemon` | `gridmint start` as a child; ready = GET /health/ready 200 |
 * | `startMosquitto(passwordLines)` / `startMosquittoDynsec(admin)` | a Mosquitto of its own from the shipped conf |
 * | `runCli(args, env)` / `cliWith(env)` | `gridmint …` as a child process: `{ code, stdout, stderr }` |
 * | `registerMeter` + `reading` / `addRegisterMeter` + `registerRead` / `addOcmfMeter` + `ocmfRecord` | meters and what they sign |
 * | `connectMeter`, `publish`, `watchStatus`, `streamReadings`, `publishStream`; `connectRawMeter` (a bare socket) | MQTT clients |
 * | `actor(role)`, `token(claims)`, `SECRET`, `wallet()` | who calls the API |
 * | `until`, `settleAt`, `freePort`, `tempDirs`, `count`, `scrape`, `logCount`, `captureLog` | small tools |
 */
export * from './api.js';
export * from './cli.js';
export * from './daemon.js';
export * from './db.js';
export * from './gateway.js';
export * from './ledger.js';
export * from './log.js';
export * from './meters.js';
export * from './metrics.js';
export * from './minter.js';
export * from './mosquitto.js';
export * from './mqtt.js';
export * from './raw-mqtt.js';
export * from './tcp-proxy.js';
export * from './wait.js';
