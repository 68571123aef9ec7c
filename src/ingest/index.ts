import type { Logger } from 'pino';
import type { Started } from '../lib/component.js';
import type { Config } from '../config/load.js';
import type { Metrics } from '../metrics/registry.js';
import type { Pool } from '../store/pool.js';
import { startEmbeddedBroker } from './embedded-broker.js';
import { MeterCache } from './meter-cache.js';
import { READ_GATE_BACKLOG } from './read-gate.js';
import { IngestPipeline } from './pipeline.js';
import { stableClientId } from './client-id.js';
import { startSubscriber, type ExternalSubscriber } from './subscriber.js';
import type { Outcome } from '../domain/outcome.js';
import type { Channel } from './formats/index.js';
import type { IngestMessage } from './types.js';
import { Verifier } from './verifier.js';

export interface Ingest extends Started {
  /** mqtt:// URL meters use: the embedded broker's real address, or MQTT_URL */
  mqttUrl: string;
  /** the broker side is taking messages (embedded listening / subscriber subscribed) */
  brokerUp(): boolean;
  /**
   * The HTTP transport: resolves with the outcome after commit, Error when the gateway gave up
   * (e.g. shutdown), null when there is no room. `meterId`: the meter the body names (null: none).
   */
  submitHttp(payload: Buffer, meterId: string | null, channel: Channel): Promise<Outcome | Error | null>;
}

/**
 * On a broker where meters' client ids are their meter ids (Mosquitto with
 * use_username_as_clientid), a meter whose id equals one of the subscriber's ids could take over
 * its session. Generated ids start with the reserved `gridmint-`; a configured MQTT_CLIENT_ID is
 * checked against the registry here.
 */
async function refuseClientIdsOfMeters(pool: Pool, prefix: string, connections: number): Promise<void> {
  const ids = Array.from({ length: connections }, (_, i) => `${prefix}-${i}`);
  const taken = await pool.query<{ id: string }>('SELECT id FROM meters WHERE id = ANY($1::text[]) LIMIT 1', [ids]);
  if (taken.rows[0]) throw new Error(`MQTT_CLIENT_ID: the subscriber id ${taken.rows[0].id} is a registered meter id; choose a client id starting with gridmint-`);
}

/**
 * Ingestion as one component for the composition root: pipeline + the MQTT side (embedded aedes
 * when MQTT_URL is null, else a pipelined subscriber on the external broker). stop(): stop taking
 * messages, flush and acknowledge what is in flight, then close the broker/subscriber.
 */
export async function startIngest({ config, pool, metrics, logger }: { config: Config; pool: Pool; metrics: Metrics; logger: Logger }): Promise<Ingest> {
  const cache = new MeterCache(pool);
  const verifier = new Verifier(config.INGEST_VERIFY_WORKERS, logger.child({ component: 'verifier' }));
  const pipeline = new IngestPipeline(pool, cache, verifier, metrics, logger, {
    batchMax: config.INGEST_BATCH_MAX,
    batchWaitMs: config.INGEST_BATCH_WAIT_MS,
    maxPending: config.INGEST_MAX_PENDING,
    limits: { maxAgeMs: config.READING_MAX_AGE_SECONDS * 1000, maxFutureMs: config.READING_MAX_FUTURE_SECONDS * 1000 },
  });

  let side: ExternalSubscriber; // the embedded broker has the same shape (plus its url)
  let mqttUrl: string;
  try {
    if (config.MQTT_URL) {
      const clientId = config.MQTT_CLIENT_ID ?? (await stableClientId(config.DATA_DIR));
      await refuseClientIdsOfMeters(pool, clientId, config.MQTT_SUBSCRIBER_CONNECTIONS);
      side = startSubscriber({
        url: config.MQTT_URL,
        connections: config.MQTT_SUBSCRIBER_CONNECTIONS,
        shareGroup: config.MQTT_SHARE_GROUP,
        clientId,
        username: config.MQTT_USERNAME,
        password: config.MQTT_PASSWORD,
        sink: pipeline,
        metrics,
        logger,
      });
      mqttUrl = config.MQTT_URL.replace(/\/\/[^@/]*@/, '//');
    } else {
      const limits = {
        maxPacketBytes: config.MQTT_MAX_PACKET_BYTES,
        maxConnections: config.MQTT_MAX_CONNECTIONS,
        maxUnauthenticatedPerIp: config.MQTT_MAX_UNAUTHENTICATED_PER_IP,
        connectTimeoutMs: config.MQTT_CONNECT_TIMEOUT_MS,
      };
      const broker = await startEmbeddedBroker({ host: config.MQTT_HOST, port: config.MQTT_PORT, sink: pipeline, cache, metrics, logger, limits, readGateAt: config.INGEST_MAX_PENDING > READ_GATE_BACKLOG ? READ_GATE_BACKLOG : null });
      side = broker;
      mqttUrl = broker.url;
    }
  } catch (err) {
    await verifier.close();
    throw err;
  }

  return {
    mqttUrl,
    brokerUp: () => side.up(),
    submitHttp: (payload, meterId, channel) =>
      new Promise((resolve) => {
        const msg: IngestMessage = {
          source: 'http',
          topic: channel === 'ocmf' ? 'http:/api/meters/submit-ocmf' : 'http:/api/meters/submit-reading',
          payload,
          receivedAt: Date.now(),
          route: { ok: true, channel, meterId },
          done: resolve,
        };
        if (!pipeline.submit(msg)) resolve(null);
      }),
    stop: async () => {
      await side.stopListening();
      await pipeline.stop();
      await side.close();
    },
  };
}
