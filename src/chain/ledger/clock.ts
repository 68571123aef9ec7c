import { createHash } from 'node:crypto';
import bs58 from 'bs58';

/** A cluster produces a block roughly every 400 ms; the local ledger mimics that pace. */
export const SLOT_MS = 400;
/** A blockhash stays usable for 150 blocks after the block it names (agave MAX_PROCESSING_AGE). */
export const MAX_PROCESSING_AGE = 150;

/** Persisted clock anchor: slot(t) = baseSlot + floor((t - baseTime) / SLOT_MS), never below lastSlot. */
export interface ClockState {
  baseSlot: number;
  baseTime: number;
  lastSlot: number;
}

/**
 * The ledger's notion of time. Slots are derived from the wall clock rather than counted by a
 * timer, so (a) an idle ledger does no work, (b) after a restart the height continues from where
 * the wall clock says it should be, and (c) it can never go backwards (clamped to lastSlot).
 * Block height equals the slot (the local ledger never skips a slot).
 *
 * Blockhashes are a pure function of (genesis, slot), so the set of still-valid blockhashes can be
 * rebuilt after a restart without persisting it: a transaction signed just before a restart keeps
 * working, exactly as on a cluster that kept running.
 */
export class SlotClock {
  private readonly bySlot = new Map<number, string>();
  private readonly byHash = new Map<string, number>();

  constructor(
    private readonly genesis: Uint8Array,
    private st: ClockState,
    private readonly now: () => number = Date.now,
  ) {
    const cur = this.slot();
    for (let s = Math.max(0, cur - MAX_PROCESSING_AGE - 1); s <= cur; s++) this.register(s);
  }

  /** Test hook: while held, no new slot begins (the wall clock catches up on release). */
  held = false;

  slot(): number {
    if (this.held) return this.st.lastSlot;
    const s = this.st.baseSlot + Math.floor((this.now() - this.st.baseTime) / SLOT_MS);
    if (s > this.st.lastSlot) this.st.lastSlot = s;
    return this.st.lastSlot;
  }

  /** Jumps `n` slots ahead (test hook; also what a long outage looks like to clients). */
  advance(n: number): void {
    this.st.baseSlot += n;
    this.slot();
  }

  state(): ClockState {
    this.slot();
    return { ...this.st };
  }

  latest(): { slot: number; blockhash: string; lastValidBlockHeight: number } {
    const slot = this.slot();
    return { slot, blockhash: this.register(slot), lastValidBlockHeight: slot + MAX_PROCESSING_AGE };
  }

  /** True if a transaction using `blockhash` would still be accepted at the current height. */
  isValid(blockhash: string): boolean {
    const s = this.byHash.get(blockhash);
    return s !== undefined && this.slot() <= s + MAX_PROCESSING_AGE;
  }

  /** The blockhash of `slot` (for the SlotHashes sysvar). */
  blockhashAt(slot: number): string {
    return this.register(slot);
  }

  genesisHash(): string {
    return bs58.encode(this.genesis);
  }

  private register(slot: number): string {
    const known = this.bySlot.get(slot);
    if (known) return known;
    const h = createHash('sha256').update(this.genesis).update(String(slot)).digest();
    const hash = bs58.encode(h);
    this.bySlot.set(slot, hash);
    this.byHash.set(hash, slot);
    // Keep memory bounded: forget hashes well past their validity window.
    if (this.bySlot.size > 4 * MAX_PROCESSING_AGE) {
      for (const [s, bh] of this.bySlot) {
        if (s >= slot - 2 * MAX_PROCESSING_AGE) continue;
        this.bySlot.delete(s);
        this.byHash.delete(bh);
      }
    }
    return hash;
  }
}
