import type { Logger } from 'pino';
import type { Metrics } from '../metrics/registry.js';
import { PipelinedConnection } from './pipelined-connection.js';
import type { IngestSink } from './types.js';

export interface SubscriberOptions {
  url: string;
  connections: number;
  shareGroup: string;
  /** prefix; connection i uses `${clientId}-${i}` */
  clientId: string;
  username: string | null;
  password: string | null;
  sink: IngestSink;
  metrics: Metrics;
  logger: Logger;
}

export interface ExternalSubscriber {
  up(): boolean;
  stopListening(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Consumes readings from an external broker (Mosquitto): `connections` pipelined connections on
 * the shared subscriptions $share/{group}/meters/+/readings and …/meters/+/ocmf (OCMF records), each with a stable client id and a
 * persistent session. Several gateway instances with the same group split the stream.
 */
export function startSubscriber(o: SubscriberOptions): ExternalSubscriber {
  const log = o.logger.child({ component: 'mqtt-subscriber' });
  const base = o.clientId;
  const url = new URL(o.url);
  const conns: PipelinedConnection[] = [];
  const up = () => conns.some((c) => c.subscribed);
  for (let i = 0; i < o.connections; i++) {
    conns.push(
      new PipelinedConnection({
        url,
        clientId: `${base}-${i}`,
        username: o.username ?? (decodeURIComponent(url.username) || null),
        password: o.password ?? (url.password ? decodeURIComponent(url.password) : null),
        filters: [`$share/${o.shareGroup}/meters/+/readings`, `$share/${o.shareGroup}/meters/+/ocmf`],
        keepaliveSeconds: 30,
        sink: o.sink,
        log,
        onState: () => o.metrics.brokerUp.set(up() ? 1 : 0),
      }),
    );
  }
  o.metrics.brokerUp.set(0);
  for (const c of conns) c.start();
  log.info({ broker: `${url.protocol}//${url.host}`, connections: o.connections }, 'subscribing to an external broker');
  return {
    up,
    // The pipeline stops taking messages itself; keeping the connections lets due PUBACKs go out.
    stopListening: async () => {},
    close: async () => {
      await Promise.all(conns.map((c) => c.close()));
      o.metrics.brokerUp.set(0);
    },
  };
}
