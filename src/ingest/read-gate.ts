import type net from 'node:net';

/**
 * The gate's backlog: eight full write batches (INGEST_BATCH_MAX 500) queued keep verification and
 * commits busy; the bench's 20,000 in flight held past that only cost heap. Only applied when
 * INGEST_MAX_PENDING is larger (a gate at or above the hard limit would never close first).
 */
export const READ_GATE_BACKLOG = 4_000;

/**
 * Backpressure for the embedded broker's meter connections: while the pipeline holds `threshold`
 * or more unanswered messages, an authenticated connection's next read is deferred, so a backlog
 * waits in the kernel's socket buffers (and the meters' windows) rather than as parsed packets on
 * the V8 heap. Measured on `bench:ingest` (100 meters keeping 20,000 readings in flight): the
 * parsed backlog is ≈ 1 KiB of live heap per reading plus the garbage promoted with it.
 *
 * Nothing is refused or acknowledged differently: a deferred connection is read again, in full,
 * as soon as the backlog falls below the threshold. INGEST_MAX_PENDING stays the hard bound
 * (reads already under way can still take the backlog past the threshold by one chunk each).
 *
 * How: aedes reads a connection only with `conn.read(null)` once every packet of its previous
 * read is handled, and on 'readable'. While the gate is closed that read returns null (the bytes
 * stay buffered); when it opens, each deferred connection gets its 'readable' again. A deferred
 * connection has no packet of its own in progress (aedes only reads when none is), so the
 * repeated 'readable' cannot start a second batch beside a running one.
 */
export class ReadGate {
  private readonly deferred = new Set<net.Socket>();
  private waiting = false;

  constructor(
    private readonly threshold: number,
    private readonly backlog: () => number,
    private readonly whenBelow: (n: number) => Promise<void>,
  ) {}

  /** Puts one connection under the gate (a meter's, once authenticated). */
  attach(socket: net.Socket): void {
    const read = socket.read.bind(socket);
    socket.read = (size?: number | null) => {
      // Only aedes' read(null) is gated; the stream's own read(0) (refilling its buffer) is not.
      if (size !== null) return read(size);
      if (!socket.destroyed && this.backlog() >= this.threshold) {
        this.defer(socket);
        return null;
      }
      this.deferred.delete(socket);
      return read();
    };
    socket.once('close', () => this.deferred.delete(socket));
  }

  private defer(socket: net.Socket): void {
    this.deferred.add(socket);
    if (this.waiting) return;
    this.waiting = true;
    void this.whenBelow(this.threshold).then(() => {
      this.waiting = false;
      const sockets = [...this.deferred];
      this.deferred.clear();
      // Each read may close the gate again (that socket is then deferred anew, and the rest with it).
      for (const s of sockets) if (!s.destroyed) s.emit('readable');
    });
  }
}
