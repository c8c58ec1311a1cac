import crypto from 'node:crypto';

/**
 * The shard of a partition key, as Kinesis computes it for a stream whose shards split the hash key
 * space evenly: MD5 of the UTF-8 key read as a 128-bit unsigned integer, mapped to
 * floor(hash * shards / 2^128). Stable across processes and versions: records of one key always land
 * on the same shard as long as the shard count does not change (the log refuses to reopen with
 * another shard count for that reason).
 *
 * The writer computes this for every record, so it is done here without a native call or BigInt
 * per key: MD5 in plain JS (partition keys are short, one or two 64-byte blocks) and the mapping
 * with 32-bit limbs, which is exact in doubles for up to 2^20 shards. shardIndexOfKeyReference
 * (node:crypto + BigInt) is the definition it is tested against.
 */
export function shardIndexOfKey(partitionKey: string, shards: number): number {
  if (!(shards >= 1 && shards <= MAX_FAST_SHARDS && Number.isInteger(shards))) return shardIndexOfKeyReference(partitionKey, shards);
  md5Words(partitionKey);
  // Digest bytes are the words little-endian; as a big-endian 128-bit number its 32-bit limbs are
  // the byte-swapped words, most significant first.
  return shardOfHashLimbs(bswap32(digest[0]), bswap32(digest[1]), bswap32(digest[2]), bswap32(digest[3]), shards);
}

/**
 * floor(hash * shards / 2^128) for hash = l0·2^96 + l1·2^64 + l2·2^32 + l3 (unsigned 32-bit limbs),
 * shards ≤ 2^20: long multiplication from the low limb up, keeping only the carries.
 */
export function shardOfHashLimbs(l0: number, l1: number, l2: number, l3: number, shards: number): number {
  let product = l3 * shards;
  product = l2 * shards + Math.floor(product / TWO_32);
  product = l1 * shards + Math.floor(product / TWO_32);
  product = l0 * shards + Math.floor(product / TWO_32);
  return Math.floor(product / TWO_32);
}

/** The definition: node:crypto MD5 and exact BigInt arithmetic. */
export function shardIndexOfKeyReference(partitionKey: string, shards: number): number {
  const hash = crypto.createHash('md5').update(partitionKey, 'utf8').digest();
  const n = BigInt(shards);
  const high = hash.readBigUInt64BE(0) * n;
  const lowCarry = (hash.readBigUInt64BE(8) * n) >> 64n;
  return Number((high + lowCarry) >> 64n);
}

/** Shard ids look like Kinesis's (`shardId-000000000000`) so logs and metrics read the same. */
export function shardIdOf(index: number): string {
  return `shardId-${String(index).padStart(12, '0')}`;
}

/** limb * shards + carry < 2^32 * 2^20 = 2^52: every step stays an exact integer. */
const MAX_FAST_SHARDS = 2 ** 20;
const TWO_32 = 2 ** 32;

const bswap32 = (x: number): number => (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

// MD5 (RFC 1321). Per-round constants: T[i] = floor(2^32 * |sin(i + 1)|), the shift amounts, and
// the message word each round reads.
const T = new Int32Array(64).map((_, i) => Math.floor(2 ** 32 * Math.abs(Math.sin(i + 1))) | 0);
const SHIFT = Uint8Array.from([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]);
const WORD = new Uint8Array(64).map((_, i) => (i < 16 ? i : i < 32 ? (5 * i + 1) % 16 : i < 48 ? (3 * i + 5) % 16 : (7 * i) % 16));

let message = new Uint8Array(128);
const block = new Int32Array(16);
const digest = new Int32Array(4);

/** MD5 of the UTF-8 bytes of `text` into `digest` (four little-endian words). */
function md5Words(text: string): void {
  let length = text.length;
  let bytes = message;
  let ascii = true;
  if (length + 72 > bytes.length) bytes = message = new Uint8Array(2 * (length + 72));
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) {
      ascii = false;
      break;
    }
    bytes[i] = c;
  }
  if (!ascii) {
    const utf8 = Buffer.from(text, 'utf8');
    length = utf8.length;
    if (length + 72 > bytes.length) bytes = message = new Uint8Array(2 * (length + 72));
    bytes.set(utf8);
  }
  // Padding: 0x80, zeros up to 56 mod 64, then the bit length as a 64-bit little-endian integer.
  const padded = (((length + 8) >> 6) + 1) << 6;
  bytes[length] = 0x80;
  bytes.fill(0, length + 1, padded - 8);
  const bits = length * 8;
  bytes[padded - 8] = bits & 0xff;
  bytes[padded - 7] = (bits >>> 8) & 0xff;
  bytes[padded - 6] = (bits >>> 16) & 0xff;
  bytes[padded - 5] = (bits >>> 24) & 0xff;
  const high = Math.floor(bits / TWO_32);
  bytes[padded - 4] = high & 0xff;
  bytes[padded - 3] = (high >>> 8) & 0xff;
  bytes[padded - 2] = (high >>> 16) & 0xff;
  bytes[padded - 1] = (high >>> 24) & 0xff;

  let a0 = 0x67452301;
  let b0 = 0xefcdab89 | 0;
  let c0 = 0x98badcfe | 0;
  let d0 = 0x10325476;
  for (let offset = 0; offset < padded; offset += 64) {
    for (let j = 0; j < 16; j++) {
      const p = offset + 4 * j;
      block[j] = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
    }
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      if (i < 16) f = (b & c) | (~b & d);
      else if (i < 32) f = (d & b) | (~d & c);
      else if (i < 48) f = b ^ c ^ d;
      else f = c ^ (b | ~d);
      f = (f + a + T[i] + block[WORD[i]]) | 0;
      const s = SHIFT[((i >> 4) << 2) | (i & 3)];
      a = d;
      d = c;
      c = b;
      b = (b + ((f << s) | (f >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  digest[0] = a0;
  digest[1] = b0;
  digest[2] = c0;
  digest[3] = d0;
}
