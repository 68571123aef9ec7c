import bs58 from 'bs58';
import { createHash } from 'node:crypto';
import { decodeWire, parseWireTx } from './wire.js';

/**
 * Signature a node would return for a sendTransaction/requestAirdrop it "accepted" but dropped
 * (fault injection). For an airdrop there is no transaction yet, so a random-looking, never-landing
 * signature is derived from the request.
 */
export function signatureOfParams(method: string, params: unknown[]): string | null {
  try {
    const cfg = (params[1] ?? {}) as { encoding?: string };
    if (method === 'requestAirdrop') {
      const h = createHash('sha512').update(JSON.stringify(params)).update(String(Date.now())).digest();
      return bs58.encode(h);
    }
    const wire = parseWireTx(decodeWire(String(params[0]), cfg.encoding));
    return bs58.encode(wire.signatures[0] as Uint8Array);
  } catch {
    return null;
  }
}
