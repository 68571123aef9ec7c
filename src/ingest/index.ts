import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { Metrics } from '../metrics/registry.js';
import type { Pool } from '../store/pool.js';
import { startEmbeddedBroker } from './embedded-broker.js';
import { MeterCache } from './meter-cache.js';
import { IngestPipeline } from './pipeline.js';
import { stableClientId } from './client-id.js';
import { startSubscriber, type ExternalSubscriber } from './subscriber.js';
import type { IngestMessage, IngestResult } from './types.js';
import { Verifier } from './verifier.js';

export interface Ingest {
  /** mqtt:// URL meters use: the embedded broker's real address, or MQTT_URL */
  mqttUrl: string;
  /** the broker side is taking messages (embedded listening / subscriber subscribed) */
  brokerUp(): boolean;
  /** the HTTP transport: resolves after commit (Error when the gateway gave up, e.g. shutdown) */
  submitHttp(payload: Buffer, topicMeterId: string | null): Promise<IngestResult | Error | null>;
  stop(): Promise<void>;
}

/**
 * Ingestion as one component for the composition root: pipeline + the MQTT side (embedded aedes
 * when MQTT_URL is null, else a pipelined subscriber on the external broker). stop(): stop taking
 * messages, flush and acknowledge what is in flight, then close the broker/subscriber.
 */
export async function startIngest(config: Config, pool: Pool, metrics: Metrics, logger: Logger): Promise<Ingest> {
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
      side = startSubscriber({
        url: config.MQTT_URL,
        connections: config.MQTT_SUBSCRIBER_CONNECTIONS,
        shareGroup: config.MQTT_SHARE_GROUP,
        clientId: config.MQTT_CLIENT_ID ?? (await stableClientId(config.DATA_DIR)),
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
      const broker = await startEmbeddedBroker({ host: config.MQTT_HOST, port: config.MQTT_PORT, sink: pipeline, cache, metrics, logger, limits });
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
    submitHttp: (payload, topicMeterId) =>
      new Promise((resolve) => {
        const msg: IngestMessage = {
          source: 'http',
          topic: 'http:/api/meters/submit-reading',
          payload,
          receivedAt: Date.now(),
          topicMeterId,
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
