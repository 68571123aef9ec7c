import bs58 from 'bs58';

/** The parts of a wire-format transaction the ledger needs before handing it to LiteSVM. */
export interface WireTx {
  signatures: Uint8Array[];
  numRequiredSignatures: number;
  accountKeys: Uint8Array[];
  recentBlockhash: string;
  version: 'legacy' | 0;
  /** v0 only: the address lookup tables and the indexes it loads from each */
  lookups: WireLookup[];
}

export interface WireLookup {
  table: Uint8Array;
  writable: number[];
  readonly: number[];
}

function compactU16(b: Uint8Array, off: number): [value: number, next: number] {
  let value = 0;
  for (let i = 0; i < 3; i++) {
    const byte = b[off + i];
    if (byte === undefined) throw new Error('truncated compact-u16');
    value |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) === 0) return [value, off + i + 1];
  }
  throw new Error('bad compact-u16');
}

/** Parses signatures, header, static keys and blockhash; throws on malformed input. */
export function parseWireTx(b: Uint8Array): WireTx {
  let [n, off] = compactU16(b, 0);
  const signatures: Uint8Array[] = [];
  for (let i = 0; i < n; i++, off += 64) signatures.push(b.subarray(off, off + 64));
  const first = b[off];
  if (first === undefined) throw new Error('truncated message');
  let version: 'legacy' | 0 = 'legacy';
  if (first & 0x80) {
    if ((first & 0x7f) !== 0) throw new Error(`unsupported transaction version ${first & 0x7f}`);
    version = 0;
    off += 1;
  }
  const numRequiredSignatures = b[off] ?? 0;
  off += 3;
  let keys: number;
  [keys, off] = compactU16(b, off);
  const accountKeys: Uint8Array[] = [];
  for (let i = 0; i < keys; i++, off += 32) accountKeys.push(b.subarray(off, off + 32));
  const bh = b.subarray(off, off + 32);
  if (bh.length !== 32 || signatures.length !== numRequiredSignatures || n === 0) {
    throw new Error('malformed transaction');
  }
  const lookups = version === 0 ? parseLookups(b, off + 32) : [];
  return { signatures, numRequiredSignatures, accountKeys, recentBlockhash: bs58.encode(bh), version, lookups };
}

/** Skips the instructions and reads the v0 address table lookups that follow them. */
function parseLookups(b: Uint8Array, start: number): WireLookup[] {
  let [n, off] = compactU16(b, start);
  for (let i = 0; i < n; i++) {
    off += 1; // program id index
    let len: number;
    [len, off] = compactU16(b, off);
    off += len;
    [len, off] = compactU16(b, off);
    off += len;
  }
  const indexes = (): number[] => {
    let k: number;
    [k, off] = compactU16(b, off);
    const out = Array.from(b.subarray(off, off + k));
    off += k;
    return out;
  };
  const lookups: WireLookup[] = [];
  [n, off] = compactU16(b, off);
  for (let i = 0; i < n; i++) {
    const table = b.subarray(off, off + 32);
    off += 32;
    const writable = indexes();
    lookups.push({ table, writable, readonly: indexes() });
  }
  if (off > b.length) throw new Error('truncated address table lookups');
  return lookups;
}

/** Decodes a base64 or base58 transaction string (JSON-RPC `encoding` param; default base58). */
export function decodeWire(data: string, encoding: string | undefined): Uint8Array {
  if (encoding === 'base64') return new Uint8Array(Buffer.from(data, 'base64'));
  if (encoding === undefined || encoding === 'base58') return bs58.decode(data);
  throw new Error(`unsupported encoding ${encoding}`);
}
