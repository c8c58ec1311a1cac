/**
 * Snappy compression that emits exactly the bytes of hyparquet-writer 0.17's snappyCompress (the
 * file format contract: warehouse Parquet bytes must not change across versions), into one
 * preallocated buffer instead of a growable writer with a bounds check per byte.
 *
 * The decisions that shape the output are that implementation's, all of which matter for identity:
 * the whole input is one fragment (no 64 KiB blocks), the hash table has min(floor(log2 n), 14) bits
 * and starts zeroed (so position 0 is a candidate before it was ever stored), lookups start at
 * position 1 and skip ahead by (32 + misses) / 32 bytes, matches are extended byte by byte and
 * copies are split 64 / 60 / rest, literals of more than 60 bytes carry a 1-4 byte length.
 * Checked against the library on varied inputs in test/unit/warehouse-parquet-snappy.test.ts.
 */

const MAX_TABLE_BITS = 14;
const MAX_OFFSET = 0xffff;
const INPUT_MARGIN = 15;
const tables: Uint32Array[] = [];
let output = new Uint8Array(1 << 16);

const hashOf = (word: number, shift: number) => Math.imul(word, 0x1e35a7bd) >>> shift;
const wordAt = (input: Uint8Array, i: number) => input[i] | (input[i + 1] << 8) | (input[i + 2] << 16) | (input[i + 3] << 24);
const sameWord = (input: Uint8Array, a: number, b: number) =>
  input[a] === input[b] && input[a + 1] === input[b + 1] && input[a + 2] === input[b + 2] && input[a + 3] === input[b + 3];

function emitLiteral(out: Uint8Array, o: number, input: Uint8Array, from: number, count: number): number {
  if (count <= 60) {
    out[o++] = ((count - 1) << 2) & 0xff;
  } else {
    const value = count - 1;
    const lengthBytes = value < 0x100 ? 1 : value < 0x10000 ? 2 : value < 0x1000000 ? 3 : 4;
    out[o++] = (59 + lengthBytes) << 2;
    for (let k = 0; k < lengthBytes; k++) out[o++] = (value >>> (k * 8)) & 0xff;
  }
  if (count < 16) {
    for (let k = 0; k < count; k++) out[o + k] = input[from + k];
  } else {
    out.set(input.subarray(from, from + count), o);
  }
  return o + count;
}

function emitCopyUpTo64(out: Uint8Array, o: number, offset: number, count: number): number {
  if (count < 12 && offset < 2048) {
    out[o] = (1 + ((count - 4) << 2) + ((offset >>> 8) << 5)) & 0xff;
    out[o + 1] = offset & 0xff;
    return o + 2;
  }
  out[o] = (2 + ((count - 1) << 2)) & 0xff;
  out[o + 1] = offset & 0xff;
  out[o + 2] = (offset >>> 8) & 0xff;
  return o + 3;
}

/**
 * Compressed form of `input`. The result is a view of a buffer reused by the next call: copy it
 * (or write it out) before compressing again.
 */
export function snappyCompressShared(input: Uint8Array): Uint8Array {
  const n = input.length;
  const worstCase = 32 + n + Math.ceil(n / 6) + 16;
  if (output.length < worstCase) output = new Uint8Array(Math.max(worstCase, output.length * 2));
  const out = output;
  let o = 0;

  let length = n;
  while ((length & ~0x7f) !== 0) {
    out[o++] = (length & 0x7f) | 0x80;
    length >>>= 7;
  }
  out[o++] = length;

  let bits = 1;
  while (1 << bits <= n && bits <= MAX_TABLE_BITS) bits++;
  bits--;
  const shift = 32 - bits;
  const table = (tables[bits] ??= new Uint32Array(1 << bits));
  table.fill(0);

  let nextEmit = 0;
  if (n >= INPUT_MARGIN) {
    const ipLimit = n - INPUT_MARGIN;
    let ip = 1;
    let nextHash = hashOf(wordAt(input, ip), shift);
    outer: for (;;) {
      let skip = 32;
      let nextIp = ip;
      let candidate: number;
      do {
        ip = nextIp;
        const hash = nextHash;
        nextIp = ip + (skip >>> 5);
        skip++;
        // Past the limit the hash of nextIp is never used, so reading beyond the input is harmless.
        if (ip > ipLimit) break outer;
        nextHash = hashOf(wordAt(input, nextIp), shift);
        candidate = table[hash];
        table[hash] = ip;
      } while (ip - candidate > MAX_OFFSET || !sameWord(input, ip, candidate));

      o = emitLiteral(out, o, input, nextEmit, ip - nextEmit);
      do {
        const base = ip;
        let matched = 4;
        while (ip + matched < n && input[ip + matched] === input[candidate + matched]) matched++;
        ip += matched;
        const offset = base - candidate;
        while (matched >= 68) {
          o = emitCopyUpTo64(out, o, offset, 64);
          matched -= 64;
        }
        if (matched > 64) {
          o = emitCopyUpTo64(out, o, offset, 60);
          matched -= 60;
        }
        o = emitCopyUpTo64(out, o, offset, matched);
        nextEmit = ip;
        if (ip >= ipLimit) break outer;
        table[hashOf(wordAt(input, ip - 1), shift)] = ip - 1;
        const hash = hashOf(wordAt(input, ip), shift);
        candidate = table[hash];
        table[hash] = ip;
      } while (ip - candidate <= MAX_OFFSET && sameWord(input, ip, candidate));
      ip++;
      nextHash = hashOf(wordAt(input, ip), shift);
    }
  }
  if (nextEmit < n) o = emitLiteral(out, o, input, nextEmit, n - nextEmit);
  return out.subarray(0, o);
}
