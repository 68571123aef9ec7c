import type { AddressLookupTableAccount, Keypair } from '@solana/web3.js';
import type { Logger } from 'pino';
import type { ChainClient } from '../chain/client.js';
import { ChainTxError, ChainUnavailableError } from '../chain/errors.js';
import {
  EXTEND_CHUNK, MAX_LOOKUP_TABLE_ADDRESSES, buildCreateLookupTable, buildExtendLookupTable, viewLookupTable,
  type LookupTableView,
} from '../chain/lookup-tables.js';
import {
  listLookupTables, listUnresolvedLookupTableOps, markLookupTableOpSent, recordLookupTableOp, resolveLookupTableOp,
  type NewLookupTableOp,
} from '../store/lookup-tables.js';
import type { Pool } from '../store/pool.js';
import { sleep } from '../lib/retry.js';

export interface LookupTablesOptions {
  pool: Pool;
  chain: ChainClient;
  payer: Keypair;
  logger: Logger;
  /** test hook: called after an op is recorded and before it is sent */
  onRecorded?: (kind: 'create' | 'extend') => void | Promise<void>;
  /** how long prepare() waits for a fresh extension to become usable (one slot) */
  activationWaitMs?: number;
}

interface PendingOp {
  id: string;
  signature: string;
  bytes: Uint8Array;
  lastValidBlockHeight: number;
}


/**
 * The minter's address lookup tables: token accounts it mints to are added to tables it owns, so
 * v0 transactions can name each in one byte. Every create/extend transaction is recorded before
 * it is sent and resolved from the chain's answer, as mint transactions are (the outbox rules); what
 * a table holds is always read from the chain. Runs under the mint lock.
 */
export function createLookupTables(o: LookupTablesOptions) {
  const log = o.logger.child({ component: 'lookup-tables' });
  const authority = o.payer.publicKey.toBase58();

  /** Sends (again) and waits until the op finalizes, fails or provably expires. */
  const settleOp = async (op: PendingOp): Promise<'confirmed' | 'expired' | 'failed' | 'unknown'> => {
    try {
      await o.chain.sendRawTransaction(op.bytes);
    } catch (err) {
      if (!(err instanceof ChainTxError) && !(err instanceof ChainUnavailableError)) throw err;
      // already processed, or refused: the status below decides
    }
    await markLookupTableOpSent(o.pool, op.id);
    const r = await o.chain.waitForSignature(op.signature, op.lastValidBlockHeight, { timeoutMs: 60_000, pollMs: 100 });
    const outcome = r.state === 'finalized' ? 'confirmed' : r.state === 'timeout' ? 'unknown' : r.state;
    if (outcome !== 'unknown') await resolveLookupTableOp(o.pool, op.id, outcome, outcome === 'failed' ? JSON.stringify((r as { err?: unknown }).err).slice(0, 500) : null);
    if (outcome !== 'confirmed') log.warn({ op_id: op.id, signature: op.signature, outcome }, 'lookup table transaction did not land; its addresses stay out of the tables');
    return outcome;
  };

  const record = async (mint: string, op: NewLookupTableOp): Promise<PendingOp> => {
    const id = await recordLookupTableOp(o.pool, mint, authority, op);
    await o.onRecorded?.(op.kind);
    return { id, signature: op.signature, bytes: op.bytes, lastValidBlockHeight: op.lastValidBlockHeight };
  };

  /** Ops a crash left unresolved: re-sent while their blockhash is valid, otherwise resolved. */
  const reconcile = async (): Promise<void> => {
    for (const r of await listUnresolvedLookupTableOps(o.pool)) {
      await settleOp({ id: r.id, signature: r.signature, bytes: new Uint8Array(r.tx_bytes), lastValidBlockHeight: Number(r.last_valid_block_height) });
    }
  };

  const views = async (mint: string): Promise<{ address: string; view: LookupTableView }[]> => {
    const slot = await o.chain.getSlot();
    const out: { address: string; view: LookupTableView }[] = [];
    for (const address of await listLookupTables(o.pool, mint)) {
      const data = await o.chain.getAccountData(address);
      if (data) out.push({ address, view: viewLookupTable(address, data, slot) }); // null: its create never landed
    }
    return out;
  };

  /**
   * The slot a new table is created at. A finalized slot is surely in every node's SlotHashes,
   * which table creation checks. A table's address is derived from (authority, slot), so two
   * creates at one slot would be the same table (and the second insert a duplicate key that failed
   * the run): each create waits for a finalized slot later than the previous one's.
   */
  let lastCreateSlot = -1;
  const freshSlot = async (): Promise<number> => {
    for (let waited = 0; waited <= 30_000; waited += 100) {
      const slot = await o.chain.getSlot('finalized');
      if (slot > lastCreateSlot) return (lastCreateSlot = slot);
      await sleep(100);
    }
    throw new Error(`the finalized slot has stayed at ${lastCreateSlot} for 30 s; no new lookup table can be created`);
  };

  /** Adds `missing` to tables with room, creating tables as needed; extensions are sent together. */
  const extend = async (mint: string, current: { address: string; view: LookupTableView }[], missing: string[]): Promise<void> => {
    const room = current.map((t) => ({ address: t.address, free: MAX_LOOKUP_TABLE_ADDRESSES - t.view.all.length }));
    const chunks: { table: string; addresses: string[] }[] = [];
    let rest = missing;
    for (const t of room) {
      while (t.free > 0 && rest.length > 0) {
        const take = Math.min(t.free, EXTEND_CHUNK);
        chunks.push({ table: t.address, addresses: rest.slice(0, take) });
        t.free -= take;
        rest = rest.slice(take);
      }
    }
    // New tables: created with the mint and a first chunk; the rest follows as extensions.
    while (rest.length > 0) {
      const { blockhash, lastValidBlockHeight } = await o.chain.getLatestBlockhash();
      const first = [mint, ...rest.slice(0, EXTEND_CHUNK - 1)];
      const recentSlot = await freshSlot();
      const built = buildCreateLookupTable(o.payer, recentSlot, blockhash, first);
      const op = await record(mint, { tableAddress: built.table, kind: 'create', addresses: first, signature: built.signature, lastValidBlockHeight, bytes: built.bytes });
      if ((await settleOp(op)) !== 'confirmed') return;
      log.info({ table: built.table, mint }, 'lookup table created');
      rest = rest.slice(EXTEND_CHUNK - 1);
      let free = MAX_LOOKUP_TABLE_ADDRESSES - first.length;
      while (free > 0 && rest.length > 0) {
        const take = Math.min(free, EXTEND_CHUNK);
        chunks.push({ table: built.table, addresses: rest.slice(0, take) });
        free -= take;
        rest = rest.slice(take);
      }
    }
    if (chunks.length === 0) return;
    const { blockhash, lastValidBlockHeight } = await o.chain.getLatestBlockhash();
    const ops: PendingOp[] = [];
    for (const c of chunks) {
      const built = buildExtendLookupTable(o.payer, c.table, blockhash, c.addresses);
      ops.push(await record(mint, { tableAddress: c.table, kind: 'extend', addresses: c.addresses, signature: built.signature, lastValidBlockHeight, bytes: built.bytes }));
    }
    await Promise.all(ops.map((op) => settleOp(op)));
  };

  return {
    reconcile,
    /**
     * Makes sure each existing token account in `atas` is in one of the mint's tables and returns
     * the tables as usable now. An address extended in this slot is not usable before the next:
     * prepare() waits up to activationWaitMs for that, and the caller packs whatever is still
     * unusable into legacy transactions.
     */
    async prepare(mint: string, atas: readonly string[]): Promise<AddressLookupTableAccount[]> {
      await reconcile();
      let current = await views(mint);
      const known = new Set(current.flatMap((t) => t.view.all));
      const missing = [...new Set(atas)].filter((a) => !known.has(a));
      if (missing.length > 0) {
        await extend(mint, current, missing);
        const deadline = Date.now() + (o.activationWaitMs ?? 2_000);
        const wanted = new Set(atas);
        const usableCount = (ts: typeof current) => ts.reduce((n, t) => n + t.view.usable.state.addresses.filter((a) => wanted.has(a.toBase58())).length, 0);
        const reachable = (ts: typeof current) => ts.reduce((n, t) => n + t.view.all.filter((a) => wanted.has(a)).length, 0);
        for (;;) {
          current = await views(mint);
          if (usableCount(current) >= reachable(current) || Date.now() > deadline) break;
          await sleep(100);
        }
      }
      return current.map((t) => t.view.usable).filter((t) => t.state.addresses.some((a) => a.toBase58() === mint));
    },
  };
}

export type LookupTables = ReturnType<typeof createLookupTables>;
