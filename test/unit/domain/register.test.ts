import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveEnergy, insertRead, totalEnergy, type RegisterRead, type RegisterResolution, type RegisterRules } from '../../../src/domain/register.js';
import { kwhToBaseUnits } from '../../../src/domain/kwh.js';

const K = (s: string) => kwhToBaseUnits(s);
const H = 3_600_000;
const NONE: RegisterRules = { modulus: null, initial: null, maxKwBaseUnits: null };

/** A tiny in-memory meter: every read placed with insertRead against the full history. */
class Meter {
  reads: RegisterRead[] = [];
  resolutions: RegisterResolution[] = [];
  refused: string[] = [];
  constructor(private rules: RegisterRules = NONE) {}
  add(h: number, kwh: string): string {
    const res = insertRead({ prev: null }, this.reads, { key: `r${h}`, tsMs: h * H, register: K(kwh) }, this.rules, this.resolutions);
    if (res.kind === 'implausible') {
      this.refused.push(`r${h}`);
      return 'implausible';
    }
    if (res.kind === 'duplicate') return 'duplicate';
    this.reads = res.derivation.reads;
    return res.read.state;
  }
  mintAll(): void {
    this.reads = this.reads.map((r) => (r.energy > 0n ? { ...r, frozen: true } : r));
  }
  resolve(r: RegisterResolution): void {
    this.resolutions.push(r);
    this.reads = deriveEnergy({ prev: null }, this.reads, this.rules, this.resolutions).reads;
  }
  energy(h: number): bigint {
    return this.reads.find((r) => r.key === `r${h}`)!.energy;
  }
  state(h: number): string {
    return this.reads.find((r) => r.key === `r${h}`)!.state;
  }
  get onHold(): boolean {
    return deriveEnergy({ prev: null }, this.reads, this.rules, this.resolutions).holdStart !== null;
  }
}

describe('register energy', () => {
  it('first read is a baseline; each later read earns its rise; a lost message loses nothing', () => {
    const m = new Meter();
    expect(m.add(0, '1000')).toBe('baseline');
    expect(m.add(1, '1001.5')).toBe('rise');
    // reading at hour 2 is lost: hour 3 carries both hours
    m.add(3, '1004.000000001');
    expect(m.energy(0)).toBe(0n);
    expect(m.energy(1)).toBe(K('1.5'));
    expect(m.energy(3)).toBe(K('2.500000001'));
    expect(totalEnergy(m.reads)).toBe(K('1004.000000001') - K('1000'));
  });

  it('a declared initial register makes the first read earn from it', () => {
    const m = new Meter({ ...NONE, initial: { register: K('10'), atMs: 0 } });
    expect(m.add(1, '12')).toBe('initial');
    expect(m.energy(1)).toBe(K('2'));
  });

  it('a late read splits an unminted rise, and earns 0 inside a minted one', () => {
    const m = new Meter();
    m.add(0, '100');
    m.add(4, '108');
    m.add(2, '103'); // late, not minted yet: splits 8 into 3 + 5
    expect([m.energy(2), m.energy(4)]).toEqual([K('3'), K('5')]);
    m.mintAll();
    m.add(3, '106'); // inside the minted rise (2,4]
    expect(m.state(3)).toBe('late');
    expect(m.energy(3)).toBe(0n);
    expect(m.energy(4)).toBe(K('5'));
    expect(totalEnergy(m.reads)).toBe(K('8'));
  });

  it('a rollover explained by the modulus and plausible in power counts modulus − previous + new', () => {
    const m = new Meter({ modulus: K('1000000'), initial: null, maxKwBaseUnits: K('10') });
    m.add(0, '999995');
    expect(m.add(1, '3')).toBe('rollover');
    expect(m.energy(1)).toBe(K('8'));
  });

  it('an implausible rollover, or any unexplained drop, puts the meter on hold until resolved', () => {
    const m = new Meter({ modulus: K('1000000'), initial: null, maxKwBaseUnits: K('10') });
    m.add(0, '5000');
    m.add(1, '5007');
    expect(m.add(2, '3')).toBe('held'); // would be 994996 kWh in an hour: not a rollover
    expect(m.add(3, '5')).toBe('held');
    expect(m.onHold).toBe(true);
    expect(m.energy(2) + m.energy(3)).toBe(0n);
    // the operator says: meter exchanged at 1.5 h, old one ended at 5009, new one started at 1
    m.resolve({ kind: 'replace', atMs: 1.5 * H, finalRegister: K('5009'), newInitial: K('1') });
    expect(m.onHold).toBe(false);
    expect(m.state(2)).toBe('exchange');
    expect(m.energy(2)).toBe(K('2') + K('2')); // 5007→5009 on the old meter, 1→3 on the new one
    expect(m.energy(3)).toBe(K('2'));
  });

  it('rebase accepts a held read as the new baseline; the drop earns nothing', () => {
    const m = new Meter();
    m.add(0, '500');
    m.add(1, '510');
    m.add(2, '0'); // a glitch to zero (the evcc 53.7 MWh spike, here: nothing)
    m.add(3, '2');
    m.add(4, '4');
    expect(totalEnergy(m.reads)).toBe(K('10'));
    m.resolve({ kind: 'rebase', atMs: 3 * H });
    expect([m.state(2), m.state(3), m.state(4)]).toEqual(['held', 'rebase', 'rise']);
    expect(totalEnergy(m.reads)).toBe(K('12'));
  });

  it('refuses a read whose rise exceeds max_kw, and never uses it as a baseline', () => {
    const m = new Meter({ ...NONE, maxKwBaseUnits: K('5') });
    m.add(0, '100');
    expect(m.add(1, '150')).toBe('implausible'); // 50 kW
    expect(m.add(2, '108')).toBe('rise'); // 4 kW over two hours, from 100
    expect(m.energy(2)).toBe(K('8'));
    // a late read that would make the following rise implausible is refused too
    expect(m.add(1.9, '100.1')).toBe('implausible');
  });

  it('a duplicate is reported as such and changes nothing', () => {
    const m = new Meter();
    m.add(0, '1');
    m.add(1, '2');
    const before = JSON.stringify(m.reads, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
    expect(m.add(1, '2')).toBe('duplicate');
    expect(JSON.stringify(m.reads, (_, v) => (typeof v === 'bigint' ? v.toString() : v))).toBe(before);
  });
});

describe('register energy invariant (property)', () => {
  it('Σ energy = last register − baseline for any arrival order, mints in between and replays', () => {
    const scenario = fc
      .array(fc.bigInt({ min: 0n, max: 5_000_000_000n }), { minLength: 1, maxLength: 25 })
      .chain((rises) =>
        fc.record({
          rises: fc.constant(rises),
          order: fc.shuffledSubarray(rises.map((_, i) => i), { minLength: rises.length, maxLength: rises.length }),
          mintAfter: fc.array(fc.boolean(), { minLength: rises.length, maxLength: rises.length }),
          initial: fc.option(fc.bigInt({ min: 0n, max: 1_000_000_000n }), { nil: null }),
        }),
      );
    fc.assert(
      fc.property(scenario, ({ rises, order, mintAfter, initial }) => {
        const start = 1_000_000_000n;
        const registers: bigint[] = [];
        let v = start;
        for (const r of rises) registers.push((v += r));
        const rules: RegisterRules = { ...NONE, initial: initial === null ? null : { register: start - initial, atMs: -H } };
        let reads: RegisterRead[] = [];
        const frozen = new Map<string, bigint>();
        const arrive = () =>
          order.forEach((i, step) => {
            const res = insertRead({ prev: null }, reads, { key: `k${i}`, tsMs: i * 1000, register: registers[i]! }, rules, []);
            if (res.kind === 'stored') reads = res.derivation.reads;
            if (mintAfter[step]) reads = reads.map((r) => (r.energy > 0n ? { ...r, frozen: true } : r));
            for (const r of reads) if (r.frozen) {
              if (frozen.has(r.key)) expect(r.energy).toBe(frozen.get(r.key));
              frozen.set(r.key, r.energy);
            }
          });
        arrive();
        const baseline = initial === null ? start + rises[0]! : start - initial;
        expect(reads.length).toBe(rises.length);
        expect(totalEnergy(reads)).toBe(registers[registers.length - 1]! - baseline);
        const view = () => reads.map(({ key, energy, state, spanStartMs }) => ({ key, energy, state, spanStartMs }));
        const snapshot = view();
        arrive(); // replay of everything (with more mints in between): all duplicates, nothing moves
        expect(view()).toEqual(snapshot);
      }),
      { numRuns: 300 },
    );
  });
});

describe('derivation from a window (what the store loads) equals derivation from the whole history', () => {
  /** The store's strategy: from the last read before the new one that is neither held nor late, or inside a hold. */
  function windowed(all: RegisterRead[], read: { key: string; tsMs: number; register: bigint }, rules: RegisterRules): RegisterRead[] {
    const full = deriveEnergy({ prev: null }, all, rules, []);
    const hold = full.holdStart;
    if (hold && read.tsMs > hold.tsMs) {
      const before = all.filter((r) => r.tsMs < read.tsMs);
      const window = all.filter((r) => r.tsMs >= read.tsMs);
      const res = insertRead({ prev: null, hold: { key: hold.key, tsMs: hold.tsMs } }, window, read, rules, []);
      return res.kind === 'stored' ? [...before, ...res.derivation.reads] : all;
    }
    const anchor = [...all].reverse().find((r) => r.tsMs < read.tsMs && r.state !== 'held' && r.state !== 'late');
    const before = anchor ? all.filter((r) => r.tsMs <= anchor.tsMs) : [];
    const window = anchor ? all.filter((r) => r.tsMs > anchor.tsMs) : all;
    const res = insertRead({ prev: anchor ? { tsMs: anchor.tsMs, register: anchor.register } : null }, window, read, rules, []);
    return res.kind === 'stored' ? [...before, ...res.derivation.reads] : all;
  }

  it('gives the same energies and states for any arrival order, drops and mints included', () => {
    const scenario = fc
      .array(fc.record({ step: fc.bigInt({ min: -3_000_000_000n, max: 5_000_000_000n }) }), { minLength: 1, maxLength: 20 })
      .chain((steps) =>
        fc.record({
          steps: fc.constant(steps),
          order: fc.shuffledSubarray(steps.map((_, i) => i), { minLength: steps.length, maxLength: steps.length }),
          mintAfter: fc.array(fc.boolean(), { minLength: steps.length, maxLength: steps.length }),
        }),
      );
    fc.assert(
      fc.property(scenario, ({ steps, order, mintAfter }) => {
        let v = 100_000_000_000n;
        const registers = steps.map((s) => (v = v + s.step < 0n ? 0n : v + s.step));
        const rules: RegisterRules = { modulus: null, initial: null, maxKwBaseUnits: K('10000') };
        let a: RegisterRead[] = [];
        let b: RegisterRead[] = [];
        order.forEach((i, step) => {
          const read = { key: `k${i}`, tsMs: i * 60_000, register: registers[i]! };
          const res = insertRead({ prev: null }, a, read, rules, []);
          if (res.kind === 'stored') a = res.derivation.reads;
          b = windowed(b, read, rules);
          if (mintAfter[step]) {
            a = a.map((r) => (r.energy > 0n ? { ...r, frozen: true } : r));
            b = b.map((r) => (r.energy > 0n ? { ...r, frozen: true } : r));
          }
          const view = (x: RegisterRead[]) => x.map(({ key, energy, state, spanStartMs }) => ({ key, energy, state, spanStartMs }));
          expect(view(b)).toEqual(view(a));
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('appending in order (the fast path of insertRead) equals deriving the whole history', () => {
  it('same energies, states and hold for reads arriving in order, with rollovers, drops and resolutions', () => {
    const scenario = fc.record({
      steps: fc.array(fc.bigInt({ min: -3_000_000_000n, max: 5_000_000_000n }), { minLength: 1, maxLength: 40 }),
      modulus: fc.option(fc.constant(K('100')), { nil: null }),
      rebaseAt: fc.option(fc.nat({ max: 40 }), { nil: null }),
    });
    fc.assert(
      fc.property(scenario, ({ steps, modulus, rebaseAt }) => {
        // one start, rules and resolutions object for the whole run, as a store transaction has
        const start = { prev: null };
        const rules: RegisterRules = { modulus, initial: null, maxKwBaseUnits: K('1000') };
        const resolutions: RegisterResolution[] = rebaseAt === null ? [] : [{ kind: 'rebase', atMs: rebaseAt * 1000 }];
        let reads: RegisterRead[] = [];
        let v = K('50');
        for (const [i, step] of steps.entries()) {
          v = modulus !== null ? (((v + step) % modulus) + modulus) % modulus : v + step < 0n ? 0n : v + step;
          const res = insertRead(start, reads, { key: `k${i}`, tsMs: (i + 1) * 1000, register: v }, rules, resolutions);
          if (res.kind === 'stored') reads = res.derivation.reads;
        }
        // from scratch: the stored reads' times and registers only, fresh objects (no cached derivation)
        const raw = reads.map((r): RegisterRead => ({ key: r.key, tsMs: r.tsMs, register: r.register, energy: 0n, state: 'rise', spanStartMs: null, frozen: false }));
        const full = deriveEnergy({ prev: null }, raw, rules, [...resolutions]);
        const view = (rs: RegisterRead[]) => rs.map(({ key, energy, state, spanStartMs }) => ({ key, energy, state, spanStartMs }));
        expect(view(reads)).toEqual(view(full.reads));
        expect(deriveEnergy(start, reads, rules, resolutions).holdStart?.key ?? null).toBe(full.holdStart?.key ?? null);
        if (reads.length) expect(deriveEnergy(start, reads, rules, resolutions).reads).toBe(reads); // the cached derivation, not a recomputation
      }),
      { numRuns: 300 },
    );
  });
});
