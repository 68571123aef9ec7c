import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { verifyPassword } from '../domain/credential.js';
import type { Outcome } from '../domain/outcome.js';
import { METER_ID_RE, topicForStatus } from '../domain/reading.js';
import type { Metrics } from '../metrics/registry.js';
import type { RefusalReason } from '../domain/connection-refusals.js';
import { ConnectionGuard } from './connection-guard.js';
import './mqtt-packet-numbers.js';
import type { MeterCache } from './meter-cache.js';
import { routeTopic, statusMessage, type IngestSink } from './types.js';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  sink: IngestSink;
  cache: MeterCache;
  metrics: Metrics;
  logger: Logger;
  limits: BrokerLimits;
}

export interface BrokerLimits {
  /** MQTT_MAX_PACKET_BYTES: largest packet, and the most bytes read before a CONNECT authenticates */
  maxPacketBytes: number;
  /** MQTT_MAX_CONNECTIONS */
  maxConnections: number;
  /** MQTT_MAX_UNAUTHENTICATED_PER_IP */
  maxUnauthenticatedPerIp: number;
  /** MQTT_CONNECT_TIMEOUT_MS: a socket must complete its CONNECT within this */
  connectTimeoutMs: number;
}

export interface EmbeddedBroker {
  url: string;
  up(): boolean;
  /** stop accepting connections (held publishes stay held until close) */
  stopListening(): Promise<void>;
  close(): Promise<void>;
}

function authError(message: string, returnCode: 2 | 3 | 4): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * The embedded aedes broker: meters connect with username = meter id and their password; a meter
 * may publish only to meters/{id}/readings and subscribe only to meters/{id}/status.
 *
 * Readings are consumed in authorizePublish and its callback is held until the batch commits:
 * aedes sends the PUBACK only after that callback, so a PUBACK means committed. Refusals:
 * - a valid reading topic with a bad message → quarantined, PUBACK after commit, reason on status;
 * - another topic → quarantined as forbidden_topic, then the publish is refused (aedes closes the
 *   connection: MQTT 3.1.1 has no negative PUBACK);
 * - pending limit reached → refused without quarantine, never acknowledged; the meter reconnects
 *   and retries later.
 *
 * Identity: a meter's client id is its meter id (an empty one is given the meter id); any other is
 * refused with CONNACK 2 before aedes' takeover step, so no one can evict another meter's session.
 * Sessions: every connection is treated as clean — a meter has nothing the broker needs to keep
 * (its status topic is QoS 0; its own unacknowledged publishes are kept and resent by the meter).
 * Limits (ConnectionGuard, net.Server.maxConnections, aedes connectTimeout) keep memory flat
 * under abuse.
 */
export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const log = opts.logger.child({ component: 'mqtt-broker' });
  const meterOf = new WeakMap<Client, string>();
  let overloadLogged = 0;
  let refusalLogged = 0;
  const refused = (reason: RefusalReason, ip: string) => {
    opts.metrics.mqttConnectionsRefused.inc({ reason });
    if (Date.now() - refusalLogged > 5_000) {
      refusalLogged = Date.now();
      log.warn({ reason, ip }, 'MQTT connection refused by a broker limit (further refusals within 5 s are only counted)');
    }
  };
  const guard = new ConnectionGuard(
    { maxPacketBytes: opts.limits.maxPacketBytes, maxUnauthenticatedPerIp: opts.limits.maxUnauthenticatedPerIp },
    refused,
  );

  // A commit answers many meters in one synchronous loop; aedes writes each PUBACK and each
  // status publish (from its own setImmediate) as a separate socket write, one syscall per
  // packet. Corking the answered connections until those immediates have run turns that into one
  // write per connection per batch. The uncork is queued from a microtask, i.e. after the loop
  // that queued the status deliveries, so it runs after them.
  const corked = new Set<net.Socket>();
  const uncorkAll = () => {
    for (const conn of corked) conn.uncork();
    corked.clear();
  };
  const corkUntilAnswered = (client: Client) => {
    const conn = client.conn as unknown as net.Socket;
    if (corked.has(conn) || typeof conn.cork !== 'function') return;
    if (corked.size === 0) queueMicrotask(() => setImmediate(uncorkAll));
    corked.add(conn);
    conn.cork();
  };

  const broker = await Aedes.createBroker({
    connectTimeout: opts.limits.connectTimeoutMs,
    preConnect: (_client, packet, callback) => {
      packet.clean = true; // meters keep no persistent session (see above)
      if (!packet.clientId && typeof packet.username === 'string') packet.clientId = packet.username;
      callback(null, true);
    },
    authenticate: (client, username, password, done) => {
      if (!username || !METER_ID_RE.test(username) || !password) return done(authError('bad username or password', 4), false);
      // Checked before the password: the rule needs nothing secret, and it saves a hash check.
      if (client.id !== username) return done(authError('identifier rejected', 2), false);
      Promise.all([opts.cache.passwordHash(username), opts.cache.getSnapshots([username])]).then(
        ([hash, snaps]) => {
          const snap = snaps.get(username);
          if (!hash || !snap || snap.status !== 'active' || !verifyPassword(password.toString('utf8'), hash)) {
            log.info({ meter: username }, 'meter connection refused');
            return done(authError('bad username or password', 4), false);
          }
          meterOf.set(client, username);
          guard.authenticated(client.conn as unknown as net.Socket);
          done(null, true);
        },
        (err: Error) => {
          log.warn({ err: err.message }, 'cannot check meter credentials (database unreachable)');
          done(authError('server unavailable', 3), false);
        },
      );
    },

    authorizePublish: (client, packet, callback) => {
      if (!client) return callback(null); // the gateway's own status publishes
      const meterId = meterOf.get(client)!;
      const receivedAt = Date.now();
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      const route = routeTopic(packet.topic, meterId);
      const accepted = opts.sink.submit({
        source: 'mqtt',
        topic: packet.topic,
        payload,
        receivedAt,
        route,
        done: (outcome: Outcome | Error) => {
          if (outcome instanceof Error) return callback(outcome);
          const status = statusMessage(outcome, meterId);
          if (status) {
            corkUntilAnswered(client);
            broker.publish({ cmd: 'publish', topic: status.topic, payload: status.payload, qos: 0, retain: false, dup: false }, () => {});
          }
          callback(route.ok ? null : new Error('forbidden topic'));
        },
      });
      if (!accepted) {
        if (!opts.sink.accepting) return; // draining: hold it; the meter retries after we close
        if (Date.now() - overloadLogged > 5_000) {
          overloadLogged = Date.now();
          log.warn('ingest pending limit reached; refusing publishes until the backlog commits');
        }
        callback(new Error('gateway busy'));
      }
    },

    authorizeSubscribe: (client, sub, callback) => {
      const meterId = meterOf.get(client);
      if (meterId && sub.topic === topicForStatus(meterId)) return callback(null, { ...sub, qos: 0 });
      log.info({ meter: meterId, topic: sub.topic.slice(0, 200) }, 'subscription refused');
      callback(null, null); // SUBACK 0x80 (failure) for this topic; the connection stays up
    },
  });

  const gauge = () => opts.metrics.metersConnected.set(broker.connectedClients);
  broker.on('client', gauge);
  broker.on('clientDisconnect', gauge);
  broker.on('connectionError', (_client, err) => {
    if (err?.message === 'connect did not arrive in time') refused('connect_timeout', 'n/a');
  });

  // No Nagle: PUBACKs and status messages are small writes that must leave at once; with Nagle a
  // write waits for the ACK of the previous one (Mosquitto needs set_tcp_nodelay for the same).
  const server = net.createServer({ noDelay: true }, (socket) => {
    if (guard.accept(socket)) broker.handle(socket);
  });
  server.maxConnections = opts.limits.maxConnections; // Node closes connections over it at accept
  server.on('drop', (data) => refused('max_connections', data?.remoteAddress ?? 'unknown'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `mqtt://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}`;
  opts.metrics.brokerUp.set(1);
  log.info({ url }, 'embedded MQTT broker listening');

  let listening = true;
  return {
    url,
    up: () => listening && !broker.closed,
    stopListening: async () => {
      listening = false;
      server.close(); // no new connections; existing ones end in close()
    },
    close: async () => {
      listening = false;
      opts.metrics.brokerUp.set(0);
      if (server.listening) server.close();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      gauge();
    },
  };
}
