import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ClockState } from './clock.js';
import type { TxErrorJson } from './txerrors.js';

/** What the ledger keeps per landed transaction, beyond LiteSVM's own (bounded) history. */
export interface TxRecord {
  sig: string;
  slot: number;
  blockTime: number;
  err: TxErrorJson | null;
  logs: string[];
  cu: number;
  fee: number;
  pre: number[];
  post: number[];
  /** base64 wire bytes; null for airdrops (LiteSVM builds those internally). */
  tx: string | null;
  /** v0 transactions: the addresses loaded from lookup tables (getTransaction's meta.loadedAddresses) */
  loaded?: { writable: string[]; readonly: string[] };
}

export interface LedgerMeta {
  version: 1;
  genesisHash: string;
  clock: ClockState;
  /** Number of tx-log lines known to be covered by the snapshot on disk. */
  committedRecords: number;
  savedAt: string;
}

/**
 * File layout for a ledger with stateFile = X:
 *   X              LiteSVM snapshot (accounts, sysvars, recent tx history), replaced atomically
 *   X.meta.json    genesis hash, clock anchor, committed record count, replaced atomically
 *   X.txlog.ndjson one TxRecord per line, append-only
 *
 * Write order per save: append records → fsync → snapshot (tmp, fsync, rename) → meta (same).
 * A crash between steps leaves tx-log lines the snapshot may or may not contain; on load those
 * lines (beyond meta.committedRecords) are kept only if LiteSVM's restored history knows the
 * signature. Statuses therefore never claim a transaction whose effects were lost, and never lose
 * one whose effects were kept.
 */
export class LedgerFiles {
  readonly metaFile: string;
  readonly logFile: string;

  constructor(readonly stateFile: string) {
    this.metaFile = `${stateFile}.meta.json`;
    this.logFile = `${stateFile}.txlog.ndjson`;
  }

  hasSnapshot(): boolean {
    return existsSync(this.stateFile);
  }

  readMeta(): LedgerMeta | null {
    if (!existsSync(this.metaFile)) return null;
    return JSON.parse(readFileSync(this.metaFile, 'utf8')) as LedgerMeta;
  }

  /** Returns parsed records; a torn last line (crash mid-append) is skipped. */
  readRecords(): { records: TxRecord[]; torn: number } {
    if (!existsSync(this.logFile)) return { records: [], torn: 0 };
    const records: TxRecord[] = [];
    let torn = 0;
    for (const line of readFileSync(this.logFile, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        records.push(JSON.parse(line) as TxRecord);
      } catch {
        torn++;
      }
    }
    return { records, torn };
  }

  async appendRecords(records: TxRecord[]): Promise<void> {
    if (records.length === 0) return;
    await mkdir(dirname(this.logFile), { recursive: true, mode: 0o700 });
    const fh = await open(this.logFile, 'a', 0o600);
    try {
      await fh.writeFile(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }

  /** Rewrites the whole log (used once at load to drop uncommitted or torn lines). */
  async rewriteRecords(records: TxRecord[]): Promise<void> {
    await atomicWrite(this.logFile, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  async writeSnapshot(bytes: Uint8Array): Promise<void> {
    await atomicWrite(this.stateFile, bytes);
  }

  async writeMeta(meta: LedgerMeta): Promise<void> {
    await atomicWrite(this.metaFile, `${JSON.stringify(meta, null, 2)}\n`);
  }
}

async function atomicWrite(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
