import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeypair, writeKeypairFile } from '../../../src/chain/keys.js';

const dir = mkdtempSync(join(tmpdir(), 'gridmint-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keypair files (Solana CLI format)', () => {
  it('creates 0600 in a 0700 dir, then loads the same key', async () => {
    const path = join(dir, 'sub', 'payer.json');
    const a = await loadOrCreateKeypair(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'sub')).mode & 0o777).toBe(0o700);
    const arr = JSON.parse(readFileSync(path, 'utf8')) as number[];
    expect(arr).toHaveLength(64);
    const b = await loadOrCreateKeypair(path);
    expect(b.publicKey.equals(a.publicKey)).toBe(true);
  });

  it('concurrent first starts agree on one key', async () => {
    const path = join(dir, 'race.json');
    const keys = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateKeypair(path)));
    expect(new Set(keys.map((k) => k.publicKey.toBase58())).size).toBe(1);
  });

  it('writeKeypairFile refuses to overwrite unless asked', async () => {
    const path = join(dir, 'meter.json');
    await writeKeypairFile(path);
    await expect(writeKeypairFile(path)).rejects.toMatchObject({ code: 'EEXIST' });
    const k = await writeKeypairFile(path, { overwrite: true });
    expect((await loadOrCreateKeypair(path)).publicKey.equals(k.publicKey)).toBe(true);
  });

  it('rejects malformed files without echoing their contents', async () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '[12,34,56,SECRETBYTES');
    const err = (await loadOrCreateKeypair(path).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/not a Solana keypair/);
    expect(err.message).not.toContain('SECRET');
    writeFileSync(path, JSON.stringify(Array.from({ length: 64 }, () => 1)));
    await expect(loadOrCreateKeypair(path)).rejects.toThrow(/inconsistent keypair/);
  });
});
