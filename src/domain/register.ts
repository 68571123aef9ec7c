/**
 * Energy from a cumulative register, as a pure function of a meter's reads. Everything is bigint
 * base units (kWh × 10^9) and epoch milliseconds: a read's energy is its register's rise since the
 * previous read, so a lost message loses nothing and an extra one cannot inflate anything.
 *
 * States a stored read can be in:
 *   baseline  the first read (no declared initial register): 0 energy, starts the count
 *   initial   the first read when an initial register was declared: energy = register − initial
 *   rise      energy = register − previous register
 *   rollover  a drop a declared modulus explains, plausible in power: modulus − previous + register
 *   exchange  the first read after `meter replace`: (final − previous) + (register − new initial)
 *   rebase    the read an operator accepted as the new baseline after a hold: 0 energy
 *   held      the meter is on hold (an unexplained drop): stored, 0 energy, until resolved
 *   late      arrived inside a rise that was already minted or certified: 0 energy, outside the chain
 */
export type EnergyState = 'baseline' | 'initial' | 'rise' | 'rollover' | 'exchange' | 'rebase' | 'held' | 'late';

export const ENERGY_STATES: readonly EnergyState[] = ['baseline', 'initial', 'rise', 'rollover', 'exchange', 'rebase', 'held', 'late'];

export interface RegisterRead {
  /** stable key (database id, or a temporary key for a read not stored yet) */
  key: string;
  tsMs: number;
  register: bigint;
  energy: bigint;
  state: EnergyState;
  /** start of the span (start, ts] the energy covers; null for 0-energy starting points */
  spanStartMs: number | null;
  /** minted, claimed by a mint transaction or certified: its energy can never change again */
  frozen: boolean;
}

export interface RegisterRules {
  /** register wraps to 0 at this value (e.g. 1000000 kWh for a 6-digit register) */
  modulus: bigint | null;
  /** declared register value at meter registration (the first read then earns its rise) */
  initial: { register: bigint; atMs: number } | null;
  /** most energy per hour, base units (kW × 10^9); null = no power check */
  maxKwBaseUnits: bigint | null;
}

export interface RegisterResolution {
  kind: 'replace' | 'rebase';
  atMs: number;
  /** replace: the old meter's last register, and the new meter's first */
  finalRegister?: bigint;
  newInitial?: bigint;
}

/** Where a window of reads starts: the last settled point before it (null = the meter's first read). */
export interface ChainStart {
  prev: { tsMs: number; register: bigint } | null;
  /** the window starts inside an unresolved hold (whose first read is this one) */
  hold?: { key: string; tsMs: number };
}

const MS_PER_HOUR = 3_600_000n;

/** rise ÷ elapsed ≤ max_kw, exactly: rise × 3600000 ≤ max × elapsed_ms. */
export function plausibleInPower(energy: bigint, elapsedMs: number, maxKw: bigint | null): boolean {
  if (maxKw === null) return true;
  if (elapsedMs <= 0) return energy === 0n;
  return energy * MS_PER_HOUR <= maxKw * BigInt(elapsedMs);
}

export interface Derivation {
  reads: RegisterRead[];
  /** the first read of an unresolved hold, or null */
  holdStart: RegisterRead | null;
}

/** Where a derivation stands after some reads: what the next read's energy depends on. */
interface DeriveState {
  prev: { tsMs: number; register: bigint } | null;
  /** false: the next chain read is the meter's first */
  counting: boolean;
  holdStart: RegisterRead | null;
  carry: bigint | null;
  /** resolutions not applied yet, by time */
  pending: RegisterResolution[];
}

interface Tail {
  state: DeriveState;
  start: ChainStart;
  rules: RegisterRules;
  resolutions: readonly RegisterResolution[];
}

/**
 * Derivations this process produced, by their output array. Deriving an output again gives it
 * back unchanged (a read's energy depends only on times, registers, frozen and late, which
 * derivation never changes), so a caller that re-derives its current window, or appends one read
 * to it, costs O(1) instead of O(window): a meter's backlog of n reads in one batch is then linear,
 * not quadratic. Weak keys: nothing is kept once the window is dropped.
 */
const tails = new WeakMap<readonly RegisterRead[], Tail>();

function tailOf(reads: readonly RegisterRead[], start: ChainStart, rules: RegisterRules, resolutions: readonly RegisterResolution[]): DeriveState | null {
  const t = tails.get(reads);
  return t && t.start === start && t.rules === rules && t.resolutions === resolutions ? t.state : null;
}

function initialState(start: ChainStart, rules: RegisterRules, resolutions: readonly RegisterResolution[]): DeriveState {
  let prev = start.prev;
  if (prev === null && rules.initial) prev = { tsMs: rules.initial.atMs, register: rules.initial.register };
  return {
    prev,
    counting: start.prev !== null,
    holdStart: start.hold ? { key: start.hold.key, tsMs: start.hold.tsMs, register: 0n, energy: 0n, state: 'held', spanStartMs: null, frozen: false } : null,
    carry: null,
    pending: [...resolutions].sort((a, b) => a.atMs - b.atMs),
  };
}

/** The next read (by time) through the derivation: its energy and state; `s` moves past it. */
function step(s: DeriveState, r: RegisterRead, rules: RegisterRules): RegisterRead {
  if (r.state === 'late') return r;
  let rebaseHere = false;
  while (s.pending.length) {
    const res = s.pending[0]!;
    if (res.kind === 'replace' && res.atMs < r.tsMs) {
      s.pending.shift();
      // Energy up to the old meter's final register counts; the new meter counts from its initial.
      const from = s.prev ?? { tsMs: res.atMs, register: res.finalRegister! };
      s.carry = (s.carry ?? 0n) + (res.finalRegister! - from.register);
      s.prev = { tsMs: from.tsMs, register: res.newInitial! };
      s.counting = true;
      s.holdStart = null;
    } else if (res.kind === 'rebase' && res.atMs <= r.tsMs) {
      s.pending.shift();
      rebaseHere = true;
      s.holdStart = null;
    } else break;
  }
  const moveOn = (out: RegisterRead) => {
    s.prev = { tsMs: r.tsMs, register: r.register };
    s.counting = true;
    s.carry = null;
    return out;
  };
  if (r.frozen) return moveOn(r);
  if (rebaseHere) return moveOn({ ...r, energy: 0n, state: 'rebase', spanStartMs: null });
  if (s.holdStart) return { ...r, energy: 0n, state: 'held', spanStartMs: null };
  if (s.prev === null) {
    s.prev = { tsMs: r.tsMs, register: r.register };
    s.counting = true;
    return { ...r, energy: 0n, state: 'baseline', spanStartMs: null };
  }
  const prev = s.prev;
  const rise = r.register - prev.register;
  const spanStartMs = prev.tsMs < r.tsMs ? prev.tsMs : null;
  if (rise >= 0n) {
    const state: EnergyState = s.carry !== null ? 'exchange' : s.counting ? 'rise' : 'initial';
    return moveOn({ ...r, energy: rise + (s.carry ?? 0n), state, spanStartMs });
  }
  const wrapped = rules.modulus !== null ? rules.modulus - prev.register + r.register : -1n;
  if (s.carry === null && wrapped >= 0n && rules.maxKwBaseUnits !== null && plausibleInPower(wrapped, r.tsMs - prev.tsMs, rules.maxKwBaseUnits)) {
    return moveOn({ ...r, energy: wrapped, state: 'rollover', spanStartMs });
  }
  // Never re-based automatically: the count stops here until an operator resolves it.
  const held: RegisterRead = { ...r, energy: 0n, state: 'held', spanStartMs: null };
  s.holdStart = held;
  return held;
}

function remember(reads: readonly RegisterRead[], state: DeriveState, start: ChainStart, rules: RegisterRules, resolutions: readonly RegisterResolution[]): void {
  tails.set(reads, { state, start, rules, resolutions });
}

/**
 * Recomputes energies of `reads` (sorted by time) from `start`. Frozen reads keep their energy and
 * only move the chain forward; late reads stay outside the chain. Resolutions apply at their time.
 */
export function deriveEnergy(start: ChainStart, reads: readonly RegisterRead[], rules: RegisterRules, resolutions: readonly RegisterResolution[]): Derivation {
  const known = tailOf(reads, start, rules, resolutions);
  if (known) return { reads: reads as RegisterRead[], holdStart: known.holdStart };
  const s = initialState(start, rules, resolutions);
  const out = reads.map((r) => step(s, r, rules));
  remember(out, s, start, rules, resolutions);
  return { reads: out, holdStart: s.holdStart };
}

/** Appends a read after every read of an already-derived window: the prefix cannot change. */
function appendDerived(tail: DeriveState, window: readonly RegisterRead[], fresh: RegisterRead, start: ChainStart, rules: RegisterRules, resolutions: readonly RegisterResolution[]): Derivation & { read: RegisterRead } {
  const s: DeriveState = { ...tail, pending: [...tail.pending] };
  const read = step(s, fresh, rules);
  const reads = [...window, read];
  remember(reads, s, start, rules, resolutions);
  return { reads, holdStart: s.holdStart, read };
}

/**
 * A read whose energy exceeds max_kw over its span, or that earns with no span at all (a read
 * older than a declared initial register). Exchanges are operator-declared and not judged here.
 */
export function implausible(r: RegisterRead, rules: RegisterRules): boolean {
  if (r.frozen || r.energy === 0n || r.state === 'exchange') return false;
  if (r.spanStartMs === null) return true;
  return !plausibleInPower(r.energy, r.tsMs - r.spanStartMs, rules.maxKwBaseUnits);
}

export type Insertion =
  | { kind: 'duplicate'; existing: RegisterRead }
  | { kind: 'implausible'; detail: string }
  | { kind: 'stored'; derivation: Derivation; read: RegisterRead };

/**
 * Places a new read into a window (sorted, from `start`). A read inside a rise that is already
 * frozen is stored as `late` with 0 energy; otherwise the window is re-derived, and the new read
 * is refused as implausible when it, or the rise it splits off, exceeds max_kw. A new read whose
 * derivation would disturb a frozen read (e.g. a drop before it) is also stored as `late`.
 */
export function insertRead(
  start: ChainStart,
  window: readonly RegisterRead[],
  read: { key: string; tsMs: number; register: bigint },
  rules: RegisterRules,
  resolutions: readonly RegisterResolution[],
): Insertion {
  const same = window.find((r) => r.tsMs === read.tsMs);
  if (same) return { kind: 'duplicate', existing: same };
  // Built field by field: spreading the 3-field `read` and adding 4 fields makes V8 build a
  // slow (dictionary) object, ~40× dearer here, and every later spread of it in `step` is slow too.
  const fresh: RegisterRead = { key: read.key, tsMs: read.tsMs, register: read.register, energy: 0n, state: 'rise', spanStartMs: null, frozen: false };
  const at = window.findIndex((r) => r.tsMs > read.tsMs);
  const tail = at < 0 ? tailOf(window, start, rules, resolutions) : null;
  if (tail) {
    // The common case, in order: after every read of a window derived here. Nothing before it
    // changes (no successor to split, no frozen read to disturb); only its own rise is judged.
    const d = appendDerived(tail, window, fresh, start, rules, resolutions);
    if (implausible(d.read, rules)) return { kind: 'implausible', detail: implausibleDetail(d.read) };
    return { kind: 'stored', derivation: { reads: d.reads, holdStart: d.holdStart }, read: d.read };
  }
  const sorted = at < 0 ? [...window, fresh] : [...window.slice(0, at), fresh, ...window.slice(at)];
  const late = (): Insertion => {
    const r: RegisterRead = { ...fresh, state: 'late' };
    return { kind: 'stored', derivation: { reads: sorted.map((x) => (x === fresh ? r : x)), holdStart: deriveEnergy(start, window, rules, resolutions).holdStart }, read: r };
  };
  const successor = sorted.slice(at < 0 ? sorted.length : at + 1).find((r) => r.state !== 'late');
  if (successor?.frozen) return late();
  const d = deriveEnergy(start, sorted, rules, resolutions);
  for (let i = 0; i < sorted.length; i++) {
    const before = sorted[i]!;
    if (before.frozen && (d.reads[i]!.energy !== before.energy || d.reads[i]!.state !== before.state)) return late();
  }
  const mine = d.reads[sorted.indexOf(fresh)]!;
  const next = successor ? d.reads[sorted.indexOf(successor)]! : null;
  for (const r of [mine, next]) {
    if (r && implausible(r, rules)) {
      return { kind: 'implausible', detail: implausibleDetail(r) };
    }
  }
  return { kind: 'stored', derivation: d, read: mine };
}

function implausibleDetail(r: RegisterRead): string {
  const over = r.spanStartMs === null ? 'with no time before it (older than the declared initial register)' : `over ${(r.tsMs - r.spanStartMs) / 1000} s exceeds max_kw`;
  return `rise of ${r.energy} base units ${over}`;
}

/** Σ energy of the reads, exactly. */
export function totalEnergy(reads: readonly RegisterRead[]): bigint {
  return reads.reduce((s, r) => s + r.energy, 0n);
}
