/**
 * The pipeline's count of messages received and not yet answered, with waiters for it to fall
 * below a limit: INGEST_MAX_PENDING for transports that were refused, a lower one for the embedded
 * broker's read gate (read-gate.ts).
 */
export class Backlog {
  count = 0;
  private waiters: { below: number; resolve: () => void }[] = [];

  /** Resolves once fewer than `limit` messages are unanswered (at once if already so). */
  whenBelow(limit: number): Promise<void> {
    return this.count < limit ? Promise.resolve() : new Promise((resolve) => this.waiters.push({ below: limit, resolve }));
  }

  /** One message answered. */
  answered(): void {
    this.count--;
    if (this.waiters.length === 0) return;
    const due = this.waiters.filter((w) => this.count < w.below);
    if (due.length === 0) return;
    this.waiters = this.waiters.filter((w) => this.count >= w.below);
    for (const w of due) w.resolve();
  }
}
