import net from 'node:net';
import tls from 'node:tls';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { Logger } from 'pino';
import type { Outcome } from '../domain/outcome.js';
import { createBackoff } from '../lib/backoff.js';
import './mqtt-packet-numbers.js';
import { routeTopic, statusMessage, type IngestSink } from './types.js';

export interface ConnectionOptions {
  url: URL;
  clientId: string;
  username: string | null;
  password: string | null;
  /** e.g. $share/gridmint/meters/+/readings and …/meters/+/ocmf, subscribed in one SUBSCRIBE */
  filters: string[];
  keepaliveSeconds: number;
  sink: IngestSink;
  log: Logger;
  onState(): void;
}

interface AckSlot {
  messageId: number;
  done: boolean;
}

/**
 * One subscriber connection that keeps many QoS 1 deliveries open at once (mqtt.js handles one
 * at a time when the ack is deferred). PUBLISH packets go straight into the pipeline; PUBACKs
 * are written after the commit, in the order the PUBLISHes arrived (MQTT 3.1.1 §4.6), so the
 * broker's in-flight window — not this process — bounds what is unacknowledged. The session is
 * persistent (clean: false), so whatever was not acknowledged is redelivered after a reconnect or
 * a crash; redeliveries of committed readings are duplicates and only acknowledged.
 */
export class PipelinedConnection {
  private socket: net.Socket | null = null;
  private generation = 0;
  private acks: AckSlot[] = [];
  private backlog: { packet: mqttPacket.IPublishPacket; gen: number }[] = [];
  private pingTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private lastHeard = 0;
  private reconnectBackoff = createBackoff({ initialMs: 250, maxMs: 5_000 });
  private closed = false;
  private corked = false;
  subscribed = false;

  constructor(private readonly o: ConnectionOptions) {}

  start(): void {
    if (this.closed) return;
    const gen = ++this.generation;
    const port = Number(this.o.url.port || (this.o.url.protocol.startsWith('mqtts') || this.o.url.protocol === 'tls:' ? 8883 : 1883));
    const host = this.o.url.hostname;
    const secure = this.o.url.protocol === 'mqtts:' || this.o.url.protocol === 'tls:';
    const socket = secure ? tls.connect({ host, port, servername: host }) : net.connect({ host, port });
    socket.setNoDelay(true);
    this.socket = socket;
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: Packet) => this.onPacket(p, gen));
    parser.on('error', (err: Error) => this.drop(gen, `protocol error: ${err.message}`));
    socket.on('data', (buf: Buffer) => {
      this.lastHeard = Date.now();
      parser.parse(buf);
    });
    socket.on('error', (err) => this.drop(gen, err.message));
    socket.on('close', () => this.drop(gen, 'connection closed'));
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      this.write({
        cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: false, clientId: this.o.clientId,
        keepalive: this.o.keepaliveSeconds, username: this.o.username ?? undefined, password: this.o.password === null ? undefined : Buffer.from(this.o.password),
      });
    });
  }

  /**
   * Writes coalesce per event-loop turn: a committed batch acknowledges and answers hundreds of
   * messages in one synchronous loop, which would otherwise be one syscall per packet.
   */
  private write(p: Packet): void {
    const s = this.socket;
    if (!s) return;
    if (!this.corked) {
      this.corked = true;
      s.cork();
      process.nextTick(() => {
        this.corked = false;
        s.uncork();
      });
    }
    s.write(mqttPacket.generate(p));
  }

  private onPacket(p: Packet, gen: number): void {
    if (gen !== this.generation) return;
    switch (p.cmd) {
      case 'connack':
        if (p.returnCode !== 0) return this.drop(gen, `broker refused the connection (return code ${p.returnCode})`);
        this.write({ cmd: 'subscribe', messageId: 1, subscriptions: this.o.filters.map((topic) => ({ topic, qos: 1 as const })) });
        this.lastHeard = Date.now();
        this.pingTimer = setInterval(() => this.keepalive(gen), (this.o.keepaliveSeconds * 1000) / 2);
        return;
      case 'suback':
        {
          const refused = this.o.filters.filter((_, i) => p.granted[i] === 128);
          if (refused.length) return this.drop(gen, `broker refused the subscription to ${refused.join(', ')} (check the ACL)`);
        }
        this.subscribed = true;
        this.reconnectBackoff.reset();
        this.o.log.info({ clientId: this.o.clientId }, 'subscribed to meter readings');
        this.o.onState();
        return;
      case 'publish':
        if (this.backlog.length) this.backlog.push({ packet: p, gen });
        else this.deliver(p, gen);
        return;
      default:
        return; // pingresp and acks of our QoS 0 status publishes need nothing
    }
  }

  private deliver(p: mqttPacket.IPublishPacket, gen: number): void {
    const slot: AckSlot | null = p.qos > 0 ? { messageId: p.messageId!, done: false } : null;
    const payload = Buffer.isBuffer(p.payload) ? p.payload : Buffer.from(p.payload);
    // The broker's ACL vouches for who publishes where: the topic's meter is the sender.
    const route = routeTopic(p.topic, null);
    const ok = this.o.sink.submit({
      source: 'mqtt',
      topic: p.topic,
      payload,
      receivedAt: Date.now(),
      route,
      done: (outcome: Outcome | Error) => {
        if (gen !== this.generation || outcome instanceof Error) return; // redelivered after reconnect
        const status = statusMessage(outcome, route.meterId);
        if (status) this.publishStatus(status.topic, status.payload);
        if (slot) {
          slot.done = true;
          this.flushAcks();
        }
      },
    });
    if (!ok) {
      if (!this.o.sink.accepting) return; // shutting down: never acknowledged, redelivered later
      // Pipeline full: stop reading (TCP backpressure) and retry this message when there is room.
      this.backlog.unshift({ packet: p, gen });
      this.socket?.pause();
      void this.o.sink.whenRoom().then(() => this.drainBacklog());
      return;
    }
    if (slot) this.acks.push(slot);
  }

  private drainBacklog(): void {
    while (this.backlog.length) {
      const { packet, gen } = this.backlog.shift()!;
      if (gen !== this.generation) continue;
      const before = this.backlog.length;
      this.deliver(packet, gen);
      if (this.backlog.length > before) return; // refused again; deliver() re-armed the wait
    }
    this.socket?.resume();
  }

  private flushAcks(): void {
    while (this.acks.length && this.acks[0]!.done) this.write({ cmd: 'puback', messageId: this.acks.shift()!.messageId });
  }

  publishStatus(topic: string, payload: Buffer): void {
    if (this.subscribed) this.write({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false });
  }

  private keepalive(gen: number): void {
    if (gen !== this.generation) return;
    if (Date.now() - this.lastHeard > this.o.keepaliveSeconds * 1500) return this.drop(gen, 'keepalive timeout');
    this.write({ cmd: 'pingreq' });
  }

  private recentDrops: number[] = [];

  private drop(gen: number, why: string): void {
    if (gen !== this.generation) return;
    this.generation++; // results of this connection's deliveries are no longer acknowledged here
    const wasUp = this.subscribed;
    this.subscribed = false;
    this.acks = [];
    this.backlog = [];
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.socket?.destroy();
    this.socket = null;
    this.o.onState();
    if (this.closed) return;
    this.o.log[wasUp ? 'warn' : 'debug']({ clientId: this.o.clientId, why }, 'subscriber connection lost; reconnecting');
    // A broker closes a session when another client connects with the same id; two gateways
    // sharing MQTT_CLIENT_ID take turns evicting each other and neither ingests. Say so loudly.
    const now = Date.now();
    this.recentDrops = [...this.recentDrops.filter((t) => now - t < 30_000), now];
    if (wasUp && this.recentDrops.length >= 3) {
      this.o.log.error({ clientId: this.o.clientId, drops_30s: this.recentDrops.length }, 'the broker keeps closing this subscriber right after it connects: is another gateway using the same MQTT_CLIENT_ID? Each instance needs its own');
    }
    this.reconnectTimer = setTimeout(() => this.start(), this.reconnectBackoff.next());
  }

  /** Sends the PUBACKs that are due, then disconnects cleanly (the session stays on the broker). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const s = this.socket;
    if (s && !s.destroyed) {
      this.flushAcks();
      this.write({ cmd: 'disconnect' });
      await new Promise<void>((resolve) => {
        s.end(() => resolve());
        setTimeout(resolve, 1_000).unref();
      });
    }
    this.drop(this.generation, 'closed');
  }
}
