import type { MeterSnapshot } from '../domain/evaluate.js';
import { getMeterSnapshots, getPasswordHash } from '../store/meters.js';
import type { Pool } from '../store/pool.js';

interface Entry<T> {
  value: T;
  expires: number;
}

const MAX_ENTRIES = 200_000;

/**
 * A short-TTL cache over the meter registry. Every batch needs the snapshots of its meters and
 * every MQTT connect needs a password hash; one query per batch for the misses keeps the
 * registry off the hot path, and a TTL of ~2 s means `meter suspend` takes effect within seconds
 * without any cross-process notification. Unknown meters are cached too (as null) so a flood
 * from an unregistered id costs one query per TTL. While the database is unreachable, expired
 * entries are served (stale-if-error) rather than refusing meters that were known a moment ago.
 */
export class MeterCache {
  private snapshots = new Map<string, Entry<MeterSnapshot | null>>();
  private hashes = new Map<string, Entry<string | null>>();

  constructor(
    private readonly pool: Pool,
    private readonly ttlMs = 2_000,
  ) {}

  /** Snapshots for `ids` (null = not registered). Throws when the database is unreachable. */
  async getSnapshots(ids: Iterable<string>): Promise<Map<string, MeterSnapshot | null>> {
    const now = Date.now();
    const out = new Map<string, MeterSnapshot | null>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const e = this.snapshots.get(id);
      if (e && e.expires > now) out.set(id, e.value);
      else missing.push(id);
    }
    if (missing.length) {
      let found: Map<string, MeterSnapshot>;
      try {
        found = await getMeterSnapshots(this.pool, missing);
      } catch (err) {
        // Database away: expired entries still let verification proceed (nothing commits until
        // it is back anyway); only ids never seen have to wait.
        if (!missing.every((id) => this.snapshots.has(id))) throw err;
        for (const id of missing) out.set(id, this.snapshots.get(id)!.value);
        return out;
      }
      if (this.snapshots.size > MAX_ENTRIES) this.snapshots.clear();
      for (const id of missing) {
        const value = found.get(id) ?? null;
        this.snapshots.set(id, { value, expires: now + this.ttlMs });
        out.set(id, value);
      }
    }
    return out;
  }

  /** The stored `$7$` hash, or null for an unknown meter. Throws when the database is unreachable. */
  async passwordHash(id: string): Promise<string | null> {
    const now = Date.now();
    const e = this.hashes.get(id);
    if (e && e.expires > now) return e.value;
    let value: string | null;
    try {
      value = await getPasswordHash(this.pool, id);
    } catch (err) {
      // Database away: let known meters reconnect with their last known hash; many MQTT clients
      // stop retrying after a CONNACK refusal, which would turn a database blip into an outage.
      if (e) return e.value;
      throw err;
    }
    if (this.hashes.size > MAX_ENTRIES) this.hashes.clear();
    this.hashes.set(id, { value, expires: now + this.ttlMs });
    return value;
  }
}
