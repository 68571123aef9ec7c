import { createHash } from 'node:crypto';
import { PublicKey } from '@solana/web3.js';

/**
 * Program-derived addresses, as `PublicKey.findProgramAddressSync` finds them, about ten times
 * faster. The search hashes seeds with bumps 255, 254, … until the hash is NOT an ed25519 point;
 * web3.js answers "is it a point?" by decompressing it with BigInt field arithmetic (a modular
 * exponentiation, ~0.3 ms, twice per address on average). Whether a point with this y exists is
 * whether (y² − 1)/(d·y² + 1) has a square root mod p, i.e. a Jacobi symbol, which the binary
 * algorithm finds with shifts and small remainders. Every new wallet's token account is derived
 * once (balances, mints); 100 new wallets in one balance batch were 65 ms of blocked event loop.
 */
const P = 2n ** 255n - 19n;
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;
const PDA_MARKER = Buffer.from('ProgramDerivedAddress');

/** Jacobi symbol (a/n) for odd n > 0: 1, −1, or 0. Trailing zero bits are shifted out 32 at a time at most. */
function jacobi(a: bigint, n: bigint): number {
  a %= n;
  let t = 1;
  while (a !== 0n) {
    let low = Number(a & 0xffffffffn);
    while (low === 0) {
      a >>= 32n; // 32 zeros: an even count, the symbol is unchanged
      low = Number(a & 0xffffffffn);
    }
    const zeros = 31 - Math.clz32(low & -low);
    if (zeros > 0) {
      a >>= BigInt(zeros);
      const r = Number(n & 7n);
      if ((zeros & 1) === 1 && (r === 3 || r === 5)) t = -t;
    }
    [a, n] = [n, a];
    if ((a & 3n) === 3n && (n & 3n) === 3n) t = -t;
    a %= n;
  }
  return n === 1n ? t : 0;
}

/** Exactly web3.js `PublicKey.isOnCurve` (noble's strict decoding: y < p, no "negative zero" x). */
export function isOnCurve(bytes: Uint8Array): boolean {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? bytes[i]! & 0x7f : bytes[i]!);
  if (y >= P) return false;
  const y2 = (y * y) % P;
  const u = (y2 - 1n + P) % P;
  const v = (D * y2 + 1n) % P;
  if (u === 0n) return (bytes[31]! & 0x80) === 0; // x = 0: only the positive encoding is a point
  return jacobi((u * v) % P, P) === 1; // u/v is a square exactly when u·v is (v ≠ 0: d is not a square)
}

/** [address, bump] of the first bump (from 255 down) whose address is off the curve. */
export function findProgramAddress(seeds: readonly Uint8Array[], programId: PublicKey): [PublicKey, number] {
  const program = programId.toBuffer();
  for (let bump = 255; bump >= 0; bump--) {
    const h = createHash('sha256');
    for (const s of seeds) h.update(s);
    const hash = h.update(Uint8Array.of(bump)).update(program).update(PDA_MARKER).digest();
    if (!isOnCurve(hash)) return [new PublicKey(hash), bump];
  }
  throw new Error('no viable bump for these seeds');
}
