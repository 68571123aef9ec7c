import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { evaluateBatch, packJob, type Verdict, type VerifyJob } from './evaluate-batch.js';

// Compiled (dist/): the worker body is plain JS next to this file. From src/ (tests, benches, `npm
// run dev`) the .mjs shim registers tsx inside the worker first.
const COMPILED_ENTRY = new URL('./verify-thread.js', import.meta.url);
const ENTRY = existsSync(COMPILED_ENTRY) ? COMPILED_ENTRY : new URL('./verify-thread.mjs', import.meta.url);

const WORKER_YOUNG_GEN_MB = 6;

interface Pending {
  resolve(v: Verdict[]): void;
  reject(e: Error): void;
  size: number;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  load: number;
}

/**
 * Signature checks off the event loop. Each chunk goes to the least-loaded worker; with 0
 * workers the main thread evaluates (simplest, fine for small fleets and tests). A worker that
 * dies fails its batches (the pipeline retries them) and is replaced.
 */
export class Verifier {
  private slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    workers: number,
    private readonly log: Logger,
  ) {
    for (let i = 0; i < workers; i++) this.slots.push(this.spawn());
  }

  get workers(): number {
    return this.slots.length;
  }

  private spawn(): Slot {
    // A small young generation: chunks are short-lived garbage, and each worker's default (sized
    // for a main thread) would otherwise grow to tens of MiB under load, per worker.
    const worker = new Worker(ENTRY, { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GEN_MB } });
    const slot: Slot = { worker, pending: new Map(), load: 0 };
    slot.worker.on('message', (m: { id: number; verdicts?: Verdict[]; error?: string }) => {
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      slot.load -= p.size;
      if (m.verdicts) p.resolve(m.verdicts);
      else p.reject(new Error(`verifier: ${m.error}`));
    });
    slot.worker.on('error', (err) => this.log.error({ err }, 'verify worker failed'));
    slot.worker.on('exit', (code) => {
      for (const p of slot.pending.values()) p.reject(new Error(`verify worker exited (${code})`));
      slot.pending.clear();
      const i = this.slots.indexOf(slot);
      if (i >= 0 && !this.closed) {
        this.log.warn({ code }, 'verify worker exited; starting a new one');
        this.slots[i] = this.spawn();
      }
    });
    return slot;
  }

  /** Verdicts in item order. */
  evaluate(job: VerifyJob): Promise<Verdict[]> {
    if (this.closed) return Promise.reject(new Error('verifier closed'));
    if (this.slots.length === 0) return Promise.resolve(evaluateBatch(job));
    const slot = this.slots.reduce((a, b) => (b.load < a.load ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject, size: job.items.length });
      slot.load += job.items.length;
      const { packed, transfer } = packJob(job);
      slot.worker.postMessage({ id, job: packed }, transfer);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = [];
  }
}
