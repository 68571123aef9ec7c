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
import { pubackPacket, qos0PublishPacket } from './mqtt-wire.js';
import { ReadGate } from './read-gate.js';
import { routeTopic, statusMessage, type IngestSink } from './types.js';

/** Unacknowledged readings per connection read before earlier ones commit (see read-ahead below). */
const READ_AHEAD = 16;

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  sink: IngestSink;
  cache: MeterCache;
  metrics: Metrics;
  logger: Logger;
  limits: BrokerLimits;
  /** sink backlog at which meter connections stop being read (read-gate.ts); null = never */
  readGateAt: number | null;
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
 * Readings are consumed in authorizePublish and acknowledged only after the commit of their batch,
 * so a PUBACK means committed: a QoS 1 reading on the meter's own topic is PUBACKed by this code
 * (see read-ahead below); anything else keeps its authorization held until the commit, and aedes
 * answers it then. Refusals:
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
  // Meters subscribed to their status topic (the only subscription a meter may hold). A status
  // message goes straight to that one client's socket (answer(), below): the broker-wide route (mqemitter,
  // topic trie) found the same single subscriber at a measurable cost per reading.
  const statusSubscribers = new WeakSet<Client>();
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

  // Read-ahead. aedes reads a connection's next chunk only once every publish of the previous
  // chunk has been authorized, and a PUBACK must wait for the commit; holding the authorization
  // until then made a reading that arrived behind its meter's previous one wait for that commit
  // before it was even read, then for a commit cycle of its own. So up to READ_AHEAD readings per
  // connection are released to aedes at once and acknowledged here after their commit, in arrival
  // order (the pipeline answers in order; MQTT 3.1.1 §4.6). Past that, authorization is held as
  // before, which stops reading that connection: a flooding meter holds at most READ_AHEAD (+ one
  // chunk) of the shared INGEST_MAX_PENDING, never the whole of it. Small on purpose: a meter sends
  // one reading per interval, a few cover a commit cycle, and every read-ahead reading is one more
  // the meter must resend if the gateway sheds its connection.
  const inFlight = new WeakMap<Client, number>();
  const gate = opts.readGateAt === null ? null : new ReadGate(opts.readGateAt, () => opts.sink.backlog, (n) => opts.sink.whenBelow(n));
  // A reading's answer, written straight to the socket (see mqtt-wire.ts): the PUBACK when the
  // reading was read ahead, then the status message when the meter subscribed to its status topic.
  const answer = (client: Client, messageId: number | null, status: { topic: string; payload: Buffer } | null) => {
    const conn = client.conn as unknown as net.Socket;
    if (client.closed || conn.destroyed) return; // gone: the meter resends, and the resend is a duplicate
    corkUntilAnswered(client);
    if (messageId !== null) conn.write(pubackPacket(messageId));
    if (status) conn.write(qos0PublishPacket(status.topic, status.payload));
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
          gate?.attach(client.conn as unknown as net.Socket);
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
      // Read-ahead (see above): a QoS 1 reading on the meter's own topic is released to
      // aedes at once, downgraded so that aedes sends no PUBACK; this code sends it after the commit.
      const early = route.ok && packet.qos === 1 && (inFlight.get(client) ?? 0) < READ_AHEAD;
      const accepted = opts.sink.submit({
        source: 'mqtt',
        topic: packet.topic,
        payload,
        receivedAt,
        route,
        done: (outcome: Outcome | Error) => {
          if (early) inFlight.set(client, inFlight.get(client)! - 1);
          if (outcome instanceof Error) return early ? client.close() : callback(outcome); // unacknowledged: the meter resends
          const status = statusSubscribers.has(client) ? statusMessage(outcome, meterId) : null;
          if (early || status) answer(client, early ? packet.messageId! : null, status);
          if (!early) callback(route.ok ? null : new Error('forbidden topic'));
        },
      });
      if (accepted && early) {
        inFlight.set(client, (inFlight.get(client) ?? 0) + 1);
        packet.qos = 0;
        // Completes synchronously (publish ends at once, below): aedes then reads the socket only if
        // the whole read chunk is done, and within this synchronous parse the socket has nothing new.
        return callback(null);
      }
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

  // A meter's publish, once authorized (consumed above) and acknowledged, ends here. aedes would
  // next route it to subscribers — nobody may subscribe to a meter's readings or OCMF topics
  // (authorizeSubscribe grants only the meter's own status) — through a retained store, the
  // offline-session lookup and the topic trie: work per reading for no receiver, and a retained
  // flag would keep a copy in memory. The gateway's own publishes (client null) route as usual.
  // (aedes calls publish(packet, client, done) internally; its typings know only (packet, done).)
  type Route = (packet: unknown, client: unknown, done?: (err?: Error) => void) => void;
  const route = (broker.publish as unknown as Route).bind(broker);
  (broker as unknown as { publish: Route }).publish = (packet, client, done) => {
    if (typeof client === 'object' && client !== null && meterOf.has(client as Client)) return done?.();
    route(packet, client, done);
  };

  broker.on('subscribe', (subs, client) => {
    const meterId = meterOf.get(client);
    // a refused subscription is reported with qos 128 (SUBACK failure)
    if (meterId && subs.some((s) => s.topic === topicForStatus(meterId) && (s.qos as number) !== 128)) statusSubscribers.add(client);
  });
  broker.on('unsubscribe', (topics, client) => {
    const meterId = meterOf.get(client);
    if (meterId && topics.includes(topicForStatus(meterId))) statusSubscribers.delete(client);
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
