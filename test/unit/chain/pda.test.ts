import { randomBytes } from 'node:crypto';
import { ASSOCIATED_TOKEN_PROGRAM_ID, getAssociatedTokenAddressSync } from '@solana/spl-token';
import { Keypair, PublicKey } from '@solana/web3.js';
import { describe, expect, it } from 'vitest';
import { isOnCurve } from '../../../src/chain/pda.js';
import { ataAddress, deriveAta } from '../../../src/chain/tokens.js';

const P = 2n ** 255n - 19n;
const le = (n: bigint, signBit = false) => {
  const b = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) b[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  if (signBit) b[31]! |= 0x80;
  return b;
};

describe('isOnCurve', () => {
  it('agrees with web3.js on random bytes and on the edge encodings', () => {
    const edges = [0n, 1n, 2n, P - 1n, P, P + 1n, 2n ** 255n - 1n].flatMap((y) => [le(y), le(y, true)]);
    const cases = [...edges, ...Array.from({ length: 3000 }, () => randomBytes(32)), ...Array.from({ length: 200 }, () => Keypair.generate().publicKey.toBuffer())];
    const differ = cases.filter((b) => isOnCurve(b) !== PublicKey.isOnCurve(b)).map((b) => b.toString('hex'));
    expect(differ).toEqual([]);
    // both answers occur (random 32 bytes are a point about half the time; real keys always are)
    expect(cases.filter((b) => isOnCurve(b)).length).toBeGreaterThan(1400);
    expect(cases.filter((b) => !isOnCurve(b)).length).toBeGreaterThan(1200);
  });
});

describe('deriveAta', () => {
  it('finds the same associated token address as spl-token, also for an owner that is itself off the curve', () => {
    const mints = [Keypair.generate().publicKey, Keypair.generate().publicKey];
    const pda = PublicKey.findProgramAddressSync([Buffer.from('vault')], ASSOCIATED_TOKEN_PROGRAM_ID)[0];
    const owners = [pda, ...Array.from({ length: 150 }, () => Keypair.generate().publicKey)];
    for (const mint of mints) {
      for (const owner of owners) {
        const expected = getAssociatedTokenAddressSync(mint, owner, true);
        expect(deriveAta(mint.toBase58(), owner.toBase58()).equals(expected)).toBe(true);
        expect(ataAddress(mint, owner)).toBe(expected.toBase58());
      }
    }
  });
});
