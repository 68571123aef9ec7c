import type { Socket } from 'node:net';
import type { RefusalReason } from '../domain/connection-refusals.js';

export interface ConnectionLimits {
  /** largest MQTT packet accepted (fixed header included); also the bound on bytes read before authentication */
  maxPacketBytes: number;
  /** connections from one address that have not authenticated yet */
  maxUnauthenticatedPerIp: number;
}

export type FrameVerdict = 'ok' | 'too_large' | 'malformed';

/**
 * Follows MQTT framing on the raw byte stream: reads each fixed header's remaining length and
 * skips the body arithmetically, so it never holds any bytes itself. A packet is judged as soon
 * as its header announces its size, before its body arrives — aedes' parser (mqtt-packet) would
 * otherwise buffer an announced 256 MiB as it streams in.
 */
export class MqttFrameScanner {
  private skip = 0;
  private inLength = false;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;

  constructor(private readonly maxPacketBytes: number) {}

  feed(chunk: Buffer): FrameVerdict {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const byte = chunk[i++]!;
      if (!this.inLength) {
        // first byte of a fixed header (packet type and flags); the length follows
        this.inLength = true;
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      // the length only grows with further bytes, so an excess is final already
      if (1 + this.lengthBytes + this.length > this.maxPacketBytes) return 'too_large';
      if (byte & 0x80) {
        if (this.lengthBytes === 4) return 'malformed'; // a remaining length has at most 4 bytes
        continue;
      }
      this.inLength = false;
      this.skip = this.length;
    }
    return 'ok';
  }
}

interface Guarded {
  ip: string;
  authenticated: boolean;
  bytesBeforeAuth: number;
}

/**
 * Limits applied to each broker connection before aedes sees its bytes: at most
 * `maxUnauthenticatedPerIp` unauthenticated connections per address, no packet larger than
 * `maxPacketBytes`, and no more than `maxPacketBytes` read before the CONNECT has authenticated.
 *
 * aedes pulls from the socket with `conn.read()` on 'readable'; wrapping that one method lets the
 * guard see every chunk before the parser does and refuse it (returning nothing, destroying the
 * socket) without an extra stream or copy on the hot path.
 */
export class ConnectionGuard {
  private readonly unauthenticated = new Map<string, number>();
  private readonly state = new WeakMap<Socket, Guarded>();

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly onRefuse: (reason: RefusalReason, ip: string) => void,
  ) {}

  /** Installs the guard on a new socket; false (socket destroyed) when its address is over the limit. */
  accept(socket: Socket): boolean {
    const ip = normaliseIp(socket.remoteAddress);
    const waiting = this.unauthenticated.get(ip) ?? 0;
    if (waiting >= this.limits.maxUnauthenticatedPerIp) {
      this.refuse(socket, 'unauthenticated_per_ip', ip);
      return false;
    }
    this.unauthenticated.set(ip, waiting + 1);
    const g: Guarded = { ip, authenticated: false, bytesBeforeAuth: 0 };
    this.state.set(socket, g);
    socket.once('close', () => this.settle(g));

    const scanner = new MqttFrameScanner(this.limits.maxPacketBytes);
    const read = socket.read;
    socket.read = (size?: number) => {
      const chunk = read.call(socket, size) as Buffer | string | null;
      if (chunk === null || typeof chunk === 'string' || socket.destroyed) return chunk;
      let refusal: RefusalReason | null = null;
      const verdict = scanner.feed(chunk);
      if (verdict === 'too_large') refusal = 'packet_too_large';
      else if (verdict === 'malformed') refusal = 'malformed_packet';
      else if (!g.authenticated && (g.bytesBeforeAuth += chunk.length) > this.limits.maxPacketBytes) refusal = 'pre_connect_bytes';
      if (!refusal) return chunk;
      this.refuse(socket, refusal, ip);
      return null;
    };
    return true;
  }

  /** The CONNECT on this socket authenticated: it no longer counts against its address. */
  authenticated(socket: Socket): void {
    const g = this.state.get(socket);
    if (g) this.settle(g);
  }

  /** Unauthenticated connections currently open (all addresses). */
  pendingAuthentication(): number {
    let n = 0;
    for (const v of this.unauthenticated.values()) n += v;
    return n;
  }

  private settle(g: Guarded): void {
    if (g.authenticated) return;
    g.authenticated = true;
    const left = (this.unauthenticated.get(g.ip) ?? 1) - 1;
    if (left > 0) this.unauthenticated.set(g.ip, left);
    else this.unauthenticated.delete(g.ip);
  }

  private refuse(socket: Socket, reason: RefusalReason, ip: string): void {
    this.onRefuse(reason, ip);
    socket.destroy();
  }
}

/** `::ffff:10.0.0.1` and `10.0.0.1` are the same client. */
function normaliseIp(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
