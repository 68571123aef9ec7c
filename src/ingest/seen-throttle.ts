import type { WriteItem } from './batch-writer.js';

const SEEN_THROTTLE_MS = 30_000;

/** Which meters' last_seen_at a batch should bump: each meter at most once per 30 s. */
export class SeenThrottle {
  private seen = new Map<string, number>();

  due(items: WriteItem[]): string[] {
    const now = Date.now();
    const out: string[] = [];
    for (const { verdict: v } of items) {
      if (!v.ok) continue;
      const last = this.seen.get(v.meterId) ?? 0;
      if (now - last >= SEEN_THROTTLE_MS) {
        this.seen.set(v.meterId, now);
        out.push(v.meterId);
      }
    }
    if (this.seen.size > 200_000) this.seen.clear();
    return out;
  }
}
