import { mkdtempSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMintToInstruction } from '@solana/spl-token';
import { Keypair, PublicKey, Transaction } from '@solana/web3.js';
import bs58 from 'bs58';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChainTxError, ChainUnavailableError, buildMintTransactions, createChainClient, deriveAta,
  type BuiltMintTx, type ChainClient,
} from '../../../src/chain/index.js';
import { createLocalLedger, type LocalLedger } from '../../../src/chain/ledger/index.js';

const logger = pino({ level: 'error' }); // the fault tests provoke expected warnings
const dir = mkdtempSync(join(tmpdir(), 'gridmint-ledger-'));
const stateFile = join(dir, 'ledger.bin');
const payer = Keypair.generate();
const rpcErrors: string[] = [];
const wallets = Array.from({ length: 60 }, () => Keypair.generate().publicKey.toBase58());
const noAtaWallet = Keypair.generate().publicKey.toBase58();
const expected = new Map<string, bigint>();
const sigs: string[] = [];
let ledger: LocalLedger;
let client: ChainClient;
let mint = '';

const clientFor = (url: string, timeoutMs?: number) =>
  createChainClient({ rpcUrl: url, payer, logger, isLocal: true, timeoutMs, onRpcError: (m) => rpcErrors.push(m) });

/** Sends with up to `inFlight` concurrent requests; returns elapsed ms. */
async function sendAll(c: ChainClient, txs: BuiltMintTx[], inFlight = 4): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < txs.length) {
      const t = txs[next++]!;
      expect(await c.sendRawTransaction(t.bytes, { skipPreflight: true })).toBe(t.signature);
    }
  }));
  return performance.now() - t0;
}

async function waitFinal(c: ChainClient, signatures: string[]): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const st = await c.getSignatureStatuses(signatures);
    if (st.every((s) => s?.confirmationStatus === 'finalized')) {
      expect(st.every((s) => s!.err === null)).toBe(true);
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('not finalized');
}

async function mintRound(c: ChainClient, amounts: Map<string, bigint>): Promise<BuiltMintTx[]> {
  const ws = [...amounts.keys()];
  const existingAtas = await c.getExistingAtas(mint, ws);
  const { blockhash } = await c.getLatestBlockhash();
  const txs = buildMintTransactions({ mint, payer, entries: ws.map((w) => ({ wallet: w, baseUnits: amounts.get(w)! })), existingAtas, blockhash });
  await sendAll(c, txs);
  await waitFinal(c, txs.map((t) => t.signature));
  for (const [w, a] of amounts) expected.set(w, (expected.get(w) ?? 0n) + a);
  sigs.push(...txs.map((t) => t.signature));
  return txs;
}

beforeAll(async () => {
  ledger = createLocalLedger({ port: 0, stateFile, logger });
  await ledger.start();
  client = clientFor(ledger.url);
  await client.ensureFunded(50_000_000_000n);
  mint = await client.createMint(9);
}, 60_000);

afterAll(async () => {
  await ledger?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('local ledger + chain client', () => {
  it('mints exact amounts to wallets with and without ATAs', async () => {
    const first = new Map(wallets.slice(0, 30).map((w, i) => [w, BigInt(i + 1) * 1_000_000_000n]));
    first.set(wallets[0]!, 1n);
    const r1 = await mintRound(client, first);
    expect(r1.every((t) => t.atasCreated === t.entries.length)).toBe(true);
    const second = new Map(wallets.map((w, i) => [w, BigInt(i) * 7n + 3n]));
    second.set(wallets[59]!, 12_345_678_901_234n);
    const r2 = await mintRound(client, second);
    expect(r2.reduce((a, t) => a + t.atasCreated, 0)).toBe(30);

    const balances = await client.getTokenBalances(mint, [...wallets, noAtaWallet]);
    for (const w of wallets) expect(balances.get(w)).toBe(expected.get(w));
    expect(await client.getTokenBalance(mint, wallets[59]!)).toBe(12_345_678_901_234n);
    expect(await client.getTokenBalance(mint, wallets[0]!)).toBe(1n + 3n);
    expect(balances.get(noAtaWallet)).toBe(0n);
    expect(await client.getTokenBalance(mint, noAtaWallet)).toBe(0n);
    const info = await client.getMintInfo(mint);
    expect(info).toMatchObject({ decimals: 9, mintAuthority: payer.publicKey.toBase58() });
    expect(info!.supply).toBe([...expected.values()].reduce((a, b) => a + b, 0n));
    expect(await client.getMintInfo(Keypair.generate().publicKey.toBase58())).toBeNull();
  }, 60_000);

  it('writes and finds an SPL memo', async () => {
    const memoSig = await client.sendMemo('cert:GM-2024-000001 sha256:ab12');
    expect(await client.findMemo(memoSig)).toBe('cert:GM-2024-000001 sha256:ab12');
    expect(await client.findMemo(sigs[0]!)).toBeNull();
    expect(await client.findMemo(bs58.encode(new Uint8Array(64).fill(1)))).toBeNull();
  }, 30_000);

  it('rejects expired blockhashes, duplicates and unauthorised mints like a cluster', async () => {
    const { blockhash, lastValidBlockHeight } = await client.getLatestBlockhash();
    const w = Keypair.generate().publicKey.toBase58();
    const [tx] = buildMintTransactions({ mint, payer, entries: [{ wallet: w, baseUnits: 5n }], existingAtas: new Set(), blockhash });
    const h0 = await client.getBlockHeight();
    await ledger.advanceBlocks(200);
    expect(await client.getBlockHeight()).toBeGreaterThanOrEqual(h0 + 200);
    const err = await client.sendRawTransaction(tx!.bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainTxError);
    expect((err as ChainTxError).kind).toBe('blockhash-not-found');
    // skipPreflight: accepted at the door, never lands, provably expired.
    expect(await client.sendRawTransaction(tx!.bytes, { skipPreflight: true })).toBe(tx!.signature);
    expect(await client.waitForSignature(tx!.signature, lastValidBlockHeight, { pollMs: 20 })).toEqual({ state: 'expired' });
    expect(await client.getTokenBalance(mint, w)).toBe(0n);

    // Duplicate of a landed tx.
    const { blockhash: fresh } = await client.getLatestBlockhash();
    const [dup] = buildMintTransactions({ mint, payer, entries: [{ wallet: w, baseUnits: 5n }], existingAtas: new Set(), blockhash: fresh });
    await client.sendRawTransaction(dup!.bytes);
    const again = await client.sendRawTransaction(dup!.bytes).catch((e: unknown) => e);
    expect((again as ChainTxError).kind).toBe('already-processed');
    expected.set(w, 5n);
    sigs.push(dup!.signature);

    // Mint by a key that is not the mint authority: preflight failure with program logs.
    const intruder = Keypair.generate();
    await createChainClient({ rpcUrl: ledger.url, payer: intruder, logger, isLocal: true }).ensureFunded(1_000_000_000n);
    const bad = new Transaction({ feePayer: intruder.publicKey, blockhash: fresh, lastValidBlockHeight: 0 })
      .add(createMintToInstruction(new PublicKey(mint), deriveAta(mint, w), intruder.publicKey, 1_000n));
    bad.sign(intruder);
    const e3 = (await client.sendRawTransaction(bad.serialize()).catch((e: unknown) => e)) as ChainTxError;
    expect(e3.kind).toBe('failed');
    expect(e3.txError).toMatchObject({ InstructionError: [0, expect.anything()] });
    expect(e3.logs.length).toBeGreaterThan(0);
    // The same tx with skipPreflight lands as a failed transaction, as on a cluster.
    const sig = await client.sendRawTransaction(bad.serialize(), { skipPreflight: true });
    expect(await client.waitForSignature(sig, lastValidBlockHeight + 1000, { pollMs: 20 })).toMatchObject({ state: 'failed', err: { InstructionError: [0, expect.anything()] } });
  }, 30_000);

  it('fault hooks: drop, error, hang', async () => {
    const { blockhash } = await client.getLatestBlockhash();
    const w = Keypair.generate().publicKey.toBase58();
    const [tx] = buildMintTransactions({ mint, payer, entries: [{ wallet: w, baseUnits: 9n }], existingAtas: new Set(), blockhash });
    ledger.setFault((m) => (m === 'sendTransaction' ? 'drop' : undefined));
    expect(await client.sendRawTransaction(tx!.bytes)).toBe(tx!.signature);
    ledger.setFault(null);
    // A transaction sent after the dropped one finalizes; the dropped one is still unknown.
    const w2 = Keypair.generate().publicKey.toBase58();
    const [later] = buildMintTransactions({ mint, payer, entries: [{ wallet: w2, baseUnits: 10n }], existingAtas: new Set(), blockhash });
    await client.sendRawTransaction(later!.bytes);
    await waitFinal(client, [later!.signature]);
    expected.set(w2, 10n);
    expect(await client.getSignatureStatuses([tx!.signature])).toEqual([null]);

    ledger.setFault((m) => (m === 'getAccountInfo' ? 'error' : undefined));
    const before = rpcErrors.length;
    await expect(client.getTokenBalance(mint, wallets[1]!)).rejects.toBeInstanceOf(ChainUnavailableError);
    expect(rpcErrors.slice(before)).toEqual(['getAccountInfo']);
    await expect(client.sendRawTransaction(tx!.bytes)).resolves.toBe(tx!.signature); // other methods unaffected

    ledger.setFault(() => 'hang');
    const impatient = clientFor(ledger.url, 300);
    await expect(impatient.getLatestBlockhash()).rejects.toBeInstanceOf(ChainUnavailableError);
    ledger.setFault(null);
    await waitFinal(client, [tx!.signature]);
    expected.set(w, 9n);
    sigs.push(tx!.signature);
  }, 30_000);

  it('speaks JSON-RPC: batches, base58 transactions, unknown methods', async () => {
    const post = async (body: unknown) => (await fetch(ledger.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
    const batch = (await post([
      { jsonrpc: '2.0', id: 1, method: 'getSlot' },
      { jsonrpc: '2.0', id: 2, method: 'noSuchMethod' },
      { jsonrpc: '2.0', id: 3, method: 'getTokenSupply', params: [mint] },
    ])) as { id: number; result?: unknown; error?: { code: number } }[];
    expect(batch.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(typeof batch[0]!.result).toBe('number');
    expect(batch[1]!.error!.code).toBe(-32601);
    expect(batch[2]!.result).toMatchObject({ value: { decimals: 9 } });

    const { blockhash } = await client.getLatestBlockhash();
    const w = Keypair.generate().publicKey.toBase58();
    const [tx] = buildMintTransactions({ mint, payer, entries: [{ wallet: w, baseUnits: 2n }], existingAtas: new Set(), blockhash });
    const r = (await post({ jsonrpc: '2.0', id: 9, method: 'sendTransaction', params: [bs58.encode(tx!.bytes)] })) as { result: string };
    expect(r.result).toBe(tx!.signature);
    await waitFinal(client, [tx!.signature]);
    expected.set(w, 2n);
    const sim = (await post({ jsonrpc: '2.0', id: 10, method: 'simulateTransaction', params: [Buffer.from(tx!.bytes).toString('base64'), { encoding: 'base64' }] })) as { result: { context: { slot: number }; value: { err: unknown; logs: string[]; unitsConsumed: number } } };
    expect(sim.result.value.err).toBeNull(); // simulation runs against current state, like agave's
    expect(sim.result.value.unitsConsumed).toBeGreaterThan(0);
  }, 30_000);

  it('down: ChainUnavailableError (never 0n); restarted: balances, statuses and memos persist, height never goes back', async () => {
    // its own mint and memo, so it needs nothing from the tests before it
    await mintRound(client, new Map([[Keypair.generate().publicKey.toBase58(), 42n]]));
    const memoSig = await client.sendMemo('cert:GM-2024-000002 sha256:cd34');
    await ledger.stop();
    await expect(client.getTokenBalance(mint, wallets[2]!)).rejects.toBeInstanceOf(ChainUnavailableError);
    await expect(client.getTokenBalance(mint, noAtaWallet)).rejects.toBeInstanceOf(ChainUnavailableError);

    const meta = JSON.parse(readFileSync(`${stateFile}.meta.json`, 'utf8')) as { clock: { lastSlot: number } };
    // A tx-log line beyond the committed mark that the snapshot does not contain (crash mid-save).
    appendFileSync(`${stateFile}.txlog.ndjson`, `${JSON.stringify({ sig: bs58.encode(new Uint8Array(64).fill(4)), slot: 1, blockTime: 0, err: null, logs: [], cu: 0, fee: 0, pre: [], post: [], tx: null })}\n{"torn`);
    ledger = createLocalLedger({ port: 0, stateFile, logger });
    await ledger.start();
    client = clientFor(ledger.url);
    expect(ledger.blockHeight()).toBeGreaterThanOrEqual(meta.clock.lastSlot);
    const balances = await client.getTokenBalances(mint, [...expected.keys()]);
    for (const [w, a] of expected) expect(balances.get(w)).toBe(a);
    expect((await client.getMintInfo(mint))!.supply).toBe([...expected.values()].reduce((a, b) => a + b, 0n));
    const st = await client.getSignatureStatuses([...sigs, memoSig, bs58.encode(new Uint8Array(64).fill(4))]);
    expect(st.slice(0, -1).every((s) => s?.confirmationStatus === 'finalized' && s.err === null)).toBe(true);
    expect(st.at(-1)).toBeNull();
    expect(await client.findMemo(memoSig)).toBe('cert:GM-2024-000002 sha256:cd34');
  }, 60_000);

  it('throughput: 1,000 new wallets then the same wallets again', async () => {
    const ws = Array.from({ length: 1000 }, () => Keypair.generate().publicKey.toBase58());
    for (const round of ['missing ATAs', 'existing ATAs']) {
      const existing = await client.getExistingAtas(mint, ws);
      const { blockhash } = await client.getLatestBlockhash();
      const t0 = performance.now();
      const txs = buildMintTransactions({ mint, payer, entries: ws.map((w) => ({ wallet: w, baseUnits: 1_000_000_000n })), existingAtas: existing, blockhash });
      const buildMs = performance.now() - t0;
      const sendMs = await sendAll(client, txs);
      await waitFinal(client, txs.map((t) => t.signature));
      const full = txs[0]!;
      const body = await client.connection.getTransaction(full.signature, { maxSupportedTransactionVersion: 0 });
      console.log(`[ledger] ${round}: ${txs.length} txs, ${full.entries.length} wallets/${full.instructionCount} ix/${full.bytes.length} B per tx, CU used ${body?.meta?.computeUnitsConsumed} (limit ${full.computeUnitLimit}); build ${buildMs.toFixed(0)} ms, send ${sendMs.toFixed(0)} ms = ${((txs.length * 1000) / sendMs).toFixed(0)} tx/s`);
    }
    const bal = await client.getTokenBalances(mint, ws);
    expect([...bal.values()].every((b) => b === 2_000_000_000n)).toBe(true);
  }, 120_000);

  it('in-memory ledger: stop() ends hung requests', async () => {
    const mem = createLocalLedger({ port: 0, logger });
    await mem.start();
    let arrived = false;
    mem.setFault(() => ((arrived = true), 'hang'));
    const hung = fetch(mem.url, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getSlot' }) }).then(() => 'answered', () => 'reset');
    for (let i = 0; i < 500 && !arrived; i++) await new Promise((r) => setTimeout(r, 10)); // until the request is held
    expect(arrived).toBe(true);
    await mem.stop();
    expect(await hung).toBe('reset');
  }, 10_000);
});
