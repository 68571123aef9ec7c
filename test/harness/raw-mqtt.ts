import net from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { until } from './wait.js';

/** A meter on a bare MQTT 3.1.1 socket: what it sends goes out as given, PUBACK ids in arrival order. */
export interface RawMeterClient {
  /** message ids of the PUBACKs received, in the order they arrived */
  acks: number[];
  send(p: Packet): void;
  /** bytes written as they are (e.g. many PUBLISH packets in one write) */
  write(bytes: Buffer): void;
  close(): void;
}

/** Connects as the meter (clientId = username = meter id) and waits for a successful CONNACK. */
export async function connectRawMeter(url: string, m: { id: string; password: string }): Promise<RawMeterClient> {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const acks: number[] = [];
  let connack: number | null = null;
  parser.on('packet', (p: Packet) => {
    if (p.cmd === 'connack') connack = p.returnCode ?? 0;
    if (p.cmd === 'puback') acks.push(p.messageId!);
  });
  socket.on('data', (b: Buffer) => parser.parse(b));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const send = (p: Packet) => socket.write(mqttPacket.generate(p));
  send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: m.id, keepalive: 60, username: m.id, password: Buffer.from(m.password) });
  await until(() => connack !== null, 10_000, 'CONNACK');
  if (connack !== 0) {
    socket.destroy();
    throw new Error(`CONNACK ${connack}`);
  }
  return { acks, send, write: (bytes) => socket.write(bytes), close: () => socket.destroy() };
}

/**
 * A bare MQTT 3.1.1 client for what mqtt.js will not send: a PUBLISH whose topic is any bytes
 * (NUL, invalid UTF-8, 64 KiB). Connects with the meter's credentials, sends one QoS 1 PUBLISH
 * and reports whether the broker acknowledged it or closed the connection.
 */
export async function publishRawTopic(url: string, creds: { username: string; password: string }, topic: Buffer, payload: Buffer, timeoutMs = 10_000): Promise<'puback' | 'closed'> {
  const u = new URL(url);
  const socket = net.connect({ host: u.hostname, port: Number(u.port) });
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  try {
    return await new Promise<'puback' | 'closed'>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer from the broker')), timeoutMs);
      const finish = (r: 'puback' | 'closed') => {
        clearTimeout(timer);
        resolve(r);
      };
      socket.on('error', () => {});
      socket.on('close', () => finish('closed'));
      socket.on('data', (b: Buffer) => parser.parse(b));
      parser.on('packet', (p) => {
        if (p.cmd === 'connack') {
          if (p.returnCode !== 0) return reject(new Error(`CONNACK ${p.returnCode}`));
          socket.write(rawPublish(topic, payload, 1));
        } else if (p.cmd === 'puback') finish('puback');
      });
      socket.on('connect', () =>
        socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: '', keepalive: 30, username: creds.username, password: Buffer.from(creds.password) })),
      );
    });
  } finally {
    socket.destroy();
  }
}

/** PUBLISH, QoS 1, built by hand so the topic bytes go out exactly as given. */
function rawPublish(topic: Buffer, payload: Buffer, messageId: number): Buffer {
  const body = Buffer.concat([u16(topic.length), topic, u16(messageId), payload]);
  return Buffer.concat([Buffer.from([0x32]), remainingLength(body.length), body]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** A raw TCP client kept open, for what mqtt.js will not send: partial, oversized, pipelined. */
export interface RawClient {
  socket: net.Socket;
  /** resolves when the connection is closed (by either side) */
  closed: Promise<void>;
  isClosed(): boolean;
  /** every MQTT packet received, parsed */
  received: mqttPacket.Packet[];
  /** bytes the kernel accepted from us (socket.bytesWritten) when the connection closed */
  bytesWrittenAtClose(): number;
}

export async function openRaw(url: string): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  socket.on('error', () => {}); // the server hanging up is what these tests provoke
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const received: mqttPacket.Packet[] = [];
  parser.on('packet', (p) => received.push(p));
  socket.on('data', (b) => parser.parse(b));
  let closed = false;
  let writtenAtClose = 0;
  const closedP = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      writtenAtClose = socket.bytesWritten;
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
  return { socket, closed: closedP, isClosed: () => closed, received, bytesWrittenAtClose: () => writtenAtClose };
}

export function connectBytes(o: { clientId: string; username?: string; password?: string; clean?: boolean; will?: Buffer }): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: o.clean ?? true,
    clientId: o.clientId,
    keepalive: 60,
    username: o.username,
    password: o.password === undefined ? undefined : Buffer.from(o.password),
    will: o.will ? { topic: 'w', payload: o.will, qos: 0, retain: false } : undefined,
  });
}

export function publishBytes(topic: string, payload: Buffer, messageId = 1): Buffer {
  return mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 1, messageId, retain: false, dup: false });
}

/** A fixed header announcing a packet of `remainingLength` bytes (here: a CONNECT), without its body. */
export function announcedHeader(length: number): Buffer {
  return Buffer.concat([Buffer.from([0x10]), remainingLength(length)]);
}

/**
 * Announces a 256 MiB CONNECT and streams `bytes` of body after it in 64 KiB chunks, respecting
 * backpressure, until done or the server closes the socket. Resolves with the bytes the kernel took.
 */
export async function streamOversizedConnect(c: RawClient, bytes: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  c.socket.write(announcedHeader(256 * 1024 * 1024 - 1));
  let sent = 0;
  while (sent < bytes && !c.isClosed()) {
    const ok = c.socket.write(chunk);
    sent += chunk.length;
    if (!ok) await Promise.race([new Promise((r) => c.socket.once('drain', r)), c.closed]);
  }
  return sent;
}
