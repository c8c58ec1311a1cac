import fs from 'node:fs';
import path from 'node:path';

/**
 * External sort of archived lines by event version, on bytes (no per-line strings or objects).
 *
 * A record is one line with its sort key and origin:
 *
 *   u32 recordBytes | u32 lsnHi | u32 lsnLo | u32 flags | f64 position | f64 origin
 *   | u32 idKeyBytes | u32 lineBytes | id key | line      (little endian, 40-byte header)
 *
 * Order: (lsnHi, lsnLo, position) numerically, then the event id, then the origin. The id is kept
 * as UTF-16BE ("id key"): its byte order is JavaScript's string order and it is injective, so keys
 * compare and dedupe exactly like the `<commitLsn><position><id>` strings they replace; the origin
 * (object index, line) only orders copies of one event, so the first archived copy comes first.
 *
 * A RunBuilder appends records to an arena of at most its budget (records + per-entry index), sorts
 * an index over it when full and writes the records in order to a run file (synchronously: it runs
 * on a scan worker, whose thread has nothing else to do meanwhile), then reuses the arena. The last
 * run is never written: it is handed to the merge in memory, so a selection that fits in the budget
 * never touches the disk. A RunMerger k-way merges files and in-memory runs with a binary heap and
 * emits MergedBatch: line bytes back to back plus, per line, its end, origin and flags.
 */
const RECORD_HEADER_BYTES = 40;
/** Per-entry index cost counted against the budget (typed-array slots while a run fills). */
const ENTRY_INDEX_BYTES = 40;

/** The line was parsed and validated by the scan (it was not in the canonical spelling). */
export const FLAG_VALIDATED = 1;
/** In a MergedBatch: the line has the same sort key as the line before it. */
export const FLAG_SAME_KEY = 2;

export interface RunKey {
  lsnHi: number;
  lsnLo: number;
  position: number;
}

/** A sorted run kept in memory: its arena and the offsets of its records in order. */
export interface MemoryRun {
  arena: Uint8Array;
  order: Uint32Array;
}

export interface RunBuilderResult {
  files: string[];
  spilledBytes: number;
  /** The last run, sorted, or null when it is empty. */
  memoryRun: MemoryRun | null;
}

/** Writes `id` as UTF-16BE code units at `at`; returns the bytes written. */
function writeIdKey(target: Buffer, at: number, id: string): number {
  for (let i = 0; i < id.length; i++) {
    const unit = id.charCodeAt(i);
    target[at + 2 * i] = unit >> 8;
    target[at + 2 * i + 1] = unit & 0xff;
  }
  return 2 * id.length;
}

export class RunBuilder {
  private arena: Buffer;
  private used = 0;
  private count = 0;
  private offsets = new Uint32Array(1024);
  private lsnHi = new Uint32Array(1024);
  private lsnLo = new Uint32Array(1024);
  private position = new Float64Array(1024);
  private origin = new Float64Array(1024);
  private readonly files: string[] = [];
  private spilledBytes = 0;

  constructor(private readonly options: { tempDir: string; budgetBytes: number; filePrefix: string }) {
    this.arena = Buffer.allocUnsafeSlow(Math.min(1 << 20, Math.max(options.budgetBytes, 4096)));
  }

  /** Adds a line whose id is ASCII bytes `src[idStart, idEnd)` (each byte one UTF-16 code unit). */
  addAsciiId(key: RunKey, src: Buffer, idStart: number, idEnd: number, lineStart: number, lineEnd: number, origin: number, flags: number): void {
    const idBytes = 2 * (idEnd - idStart);
    const at = this.reserve(idBytes, lineEnd - lineStart);
    const arena = this.arena;
    let p = at + RECORD_HEADER_BYTES;
    for (let i = idStart; i < idEnd; i++) {
      arena[p++] = 0;
      arena[p++] = src[i]!;
    }
    this.finishRecord(at, key, origin, flags, idBytes, src, lineStart, lineEnd);
  }

  /** Adds a line with its id as a string. */
  addStringId(key: RunKey, id: string, src: Buffer, lineStart: number, lineEnd: number, origin: number, flags: number): void {
    const idBytes = 2 * id.length;
    const at = this.reserve(idBytes, lineEnd - lineStart);
    writeIdKey(this.arena, at + RECORD_HEADER_BYTES, id);
    this.finishRecord(at, key, origin, flags, idBytes, src, lineStart, lineEnd);
  }

  private reserve(idBytes: number, lineBytes: number): number {
    const bytes = RECORD_HEADER_BYTES + idBytes + lineBytes;
    if (this.count > 0 && this.used + bytes + (this.count + 1) * ENTRY_INDEX_BYTES > this.options.budgetBytes) this.spill();
    if (this.used + bytes > this.arena.length) {
      // Grow up to the budget; a single line larger than the budget gets an arena of its own size.
      const size = Math.max(this.used + bytes, Math.min(this.options.budgetBytes, 2 * this.arena.length));
      const grown = Buffer.allocUnsafeSlow(size);
      this.arena.copy(grown, 0, 0, this.used);
      this.arena = grown;
    }
    if (this.count === this.offsets.length) this.growIndex();
    return this.used;
  }

  private finishRecord(at: number, key: RunKey, origin: number, flags: number, idBytes: number, src: Buffer, lineStart: number, lineEnd: number): void {
    const arena = this.arena;
    const lineBytes = lineEnd - lineStart;
    const bytes = RECORD_HEADER_BYTES + idBytes + lineBytes;
    arena.writeUInt32LE(bytes, at);
    arena.writeUInt32LE(key.lsnHi, at + 4);
    arena.writeUInt32LE(key.lsnLo, at + 8);
    arena.writeUInt32LE(flags, at + 12);
    arena.writeDoubleLE(key.position, at + 16);
    arena.writeDoubleLE(origin, at + 24);
    arena.writeUInt32LE(idBytes, at + 32);
    arena.writeUInt32LE(lineBytes, at + 36);
    arena.set(src.subarray(lineStart, lineEnd), at + RECORD_HEADER_BYTES + idBytes);
    const i = this.count++;
    this.offsets[i] = at;
    this.lsnHi[i] = key.lsnHi;
    this.lsnLo[i] = key.lsnLo;
    this.position[i] = key.position;
    this.origin[i] = origin;
    this.used = at + bytes;
  }

  private growIndex(): void {
    const grow = <T extends Uint32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(a.length * 2);
      b.set(a);
      return b;
    };
    this.offsets = grow(this.offsets);
    this.lsnHi = grow(this.lsnHi);
    this.lsnLo = grow(this.lsnLo);
    this.position = grow(this.position);
    this.origin = grow(this.origin);
  }

  /** Record offsets of the current run in key order. */
  private sortedOffsets(): Uint32Array {
    const { lsnHi, lsnLo, position, origin, offsets, arena } = this;
    const order = new Array<number>(this.count);
    for (let i = 0; i < this.count; i++) order[i] = i;
    order.sort(
      (a, b) =>
        lsnHi[a]! - lsnHi[b]! ||
        lsnLo[a]! - lsnLo[b]! ||
        position[a]! - position[b]! ||
        compareIdKeys(arena, offsets[a]!, arena, offsets[b]!) ||
        origin[a]! - origin[b]!,
    );
    const sorted = new Uint32Array(this.count);
    for (let i = 0; i < this.count; i++) sorted[i] = offsets[order[i]!]!;
    return sorted;
  }

  /** Sorts the current run and writes it to a new run file. */
  private spill(): void {
    const order = this.sortedOffsets();
    const file = path.join(this.options.tempDir, `${this.options.filePrefix}-${String(this.files.length).padStart(5, '0')}.run`);
    this.files.push(file);
    const fd = fs.openSync(file, 'w');
    try {
      const staging = Buffer.allocUnsafe(1 << 20);
      let filled = 0;
      for (const at of order) {
        const bytes = this.arena.readUInt32LE(at);
        if (filled + bytes > staging.length) {
          writeAll(fd, staging, filled);
          filled = 0;
        }
        if (bytes > staging.length) writeAll(fd, this.arena.subarray(at, at + bytes), bytes);
        else filled += this.arena.copy(staging, filled, at, at + bytes);
      }
      writeAll(fd, staging, filled);
    } finally {
      fs.closeSync(fd);
    }
    this.spilledBytes += this.used;
    this.used = 0;
    this.count = 0;
  }

  /** Ends the build: the last run stays in memory (the arena is handed over, the builder is spent). */
  finish(): RunBuilderResult {
    const memoryRun = this.count > 0 ? { order: this.sortedOffsets(), arena: new Uint8Array(this.arena.buffer, this.arena.byteOffset, this.used) } : null;
    this.count = 0;
    this.used = 0;
    return { files: [...this.files], spilledBytes: this.spilledBytes, memoryRun };
  }

  get runFiles(): readonly string[] {
    return this.files;
  }
}

function writeAll(fd: number, data: Uint8Array, length: number): void {
  for (let written = 0; written < length; ) written += fs.writeSync(fd, data, written, length - written);
}

/** Compares the id keys of the records at `a` in `bufA` and `b` in `bufB` (byte order). */
function compareIdKeys(bufA: Uint8Array, a: number, bufB: Uint8Array, b: number): number {
  const lenA = readU32(bufA, a + 32);
  const lenB = readU32(bufB, b + 32);
  const n = Math.min(lenA, lenB);
  const pa = a + RECORD_HEADER_BYTES;
  const pb = b + RECORD_HEADER_BYTES;
  for (let i = 0; i < n; i++) {
    const d = bufA[pa + i]! - bufB[pb + i]!;
    if (d !== 0) return d;
  }
  return lenA - lenB;
}

const readU32 = (buf: Uint8Array, at: number) => (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16)) + buf[at + 3]! * 0x1000000;

// ---- merge ----

/** One run's current record (`head*` fields) and how to move to the next. */
abstract class RunCursor {
  buf: Buffer = Buffer.alloc(0);
  at = 0;
  lsnHi = 0;
  lsnLo = 0;
  position = 0;
  origin = 0;

  /** Moves to the next record; false at the end. */
  abstract advance(): boolean;
  close(): void {}

  protected load(buf: Buffer, at: number): void {
    this.buf = buf;
    this.at = at;
    this.lsnHi = readU32(buf, at + 4);
    this.lsnLo = readU32(buf, at + 8);
    this.position = buf.readDoubleLE(at + 16);
    this.origin = buf.readDoubleLE(at + 24);
  }
}

class MemoryCursor extends RunCursor {
  private index = 0;
  private readonly arena: Buffer;
  constructor(private readonly run: MemoryRun) {
    super();
    this.arena = Buffer.from(run.arena.buffer, run.arena.byteOffset, run.arena.byteLength);
  }
  advance(): boolean {
    if (this.index >= this.run.order.length) return false;
    this.load(this.arena, this.run.order[this.index++]!);
    return true;
  }
}

/** Reads a run file in chunks; only the current chunk is in memory. */
class FileCursor extends RunCursor {
  private chunk = Buffer.allocUnsafeSlow(256 * 1024);
  private start = 0;
  private end = 0;
  private eof = false;
  private fd: number | null;

  constructor(private readonly file: string) {
    super();
    this.fd = fs.openSync(file, 'r');
  }

  advance(): boolean {
    if (this.end - this.start < RECORD_HEADER_BYTES) this.fill(RECORD_HEADER_BYTES);
    if (this.end === this.start) return false;
    if (this.end - this.start < RECORD_HEADER_BYTES) throw new Error(`run file ${this.file} ends inside a record`);
    const bytes = this.chunk.readUInt32LE(this.start);
    if (this.end - this.start < bytes) {
      this.fill(bytes);
      if (this.end - this.start < bytes) throw new Error(`run file ${this.file} ends inside a record`);
    }
    this.load(this.chunk, this.start);
    this.start += bytes;
    return true;
  }

  /** Makes at least `need` unread bytes available (fewer only at the end of the file). */
  private fill(need: number): void {
    if (this.start > 0) {
      this.chunk.copy(this.chunk, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (need > this.chunk.length) {
      const grown = Buffer.allocUnsafeSlow(need);
      this.chunk.copy(grown, 0, 0, this.end);
      this.chunk = grown;
    }
    while (!this.eof && this.end < need) {
      const read = fs.readSync(this.fd!, this.chunk, this.end, this.chunk.length - this.end, null);
      if (read === 0) this.eof = true;
      this.end += read;
    }
  }

  override close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

function less(a: RunCursor, b: RunCursor): boolean {
  if (a.lsnHi !== b.lsnHi) return a.lsnHi < b.lsnHi;
  if (a.lsnLo !== b.lsnLo) return a.lsnLo < b.lsnLo;
  if (a.position !== b.position) return a.position < b.position;
  const ids = compareIdKeys(a.buf, a.at, b.buf, b.at);
  if (ids !== 0) return ids < 0;
  return a.origin < b.origin;
}

function siftDown(heap: RunCursor[], start: number): void {
  let i = start;
  for (;;) {
    const left = 2 * i + 1;
    const right = left + 1;
    let smallest = i;
    if (left < heap.length && less(heap[left]!, heap[smallest]!)) smallest = left;
    if (right < heap.length && less(heap[right]!, heap[smallest]!)) smallest = right;
    if (smallest === i) return;
    const t = heap[i]!;
    heap[i] = heap[smallest]!;
    heap[smallest] = t;
    i = smallest;
  }
}

/** Lines in key order: `text` holds them back to back; line i is [lineEnds[i-1] ?? 0, lineEnds[i]). */
export interface MergedBatch {
  count: number;
  text: Uint8Array;
  lineEnds: Uint32Array;
  origins: Float64Array;
  /** FLAG_VALIDATED, FLAG_SAME_KEY. */
  flags: Uint8Array;
}

/** The buffers of a batch, to move it between threads. */
export const batchBuffers = (batch: MergedBatch): ArrayBuffer[] => [batch.text.buffer, batch.lineEnds.buffer, batch.origins.buffer, batch.flags.buffer] as ArrayBuffer[];

export interface MergeInput {
  files: readonly string[];
  memoryRuns: readonly MemoryRun[];
}

/** K-way merge of sorted runs into MergedBatch pieces. Synchronous; close() releases the files. */
export class RunMerger {
  private readonly cursors: RunCursor[];
  private readonly heap: RunCursor[] = [];
  private previousId = new Uint8Array(256);
  private previousIdBytes = -1;
  private previousHi = 0;
  private previousLo = 0;
  private previousPosition = 0;
  readonly runs: number;

  constructor(input: MergeInput) {
    const cursors: RunCursor[] = [];
    try {
      for (const file of input.files) cursors.push(new FileCursor(file));
    } catch (error) {
      for (const cursor of cursors) cursor.close();
      throw error;
    }
    for (const run of input.memoryRuns) cursors.push(new MemoryCursor(run));
    this.cursors = cursors;
    this.runs = cursors.length;
    for (const cursor of cursors) if (cursor.advance()) this.heap.push(cursor);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) siftDown(this.heap, i);
  }

  /**
   * The next lines in order (at most `maxLines`, about `maxBytes`); null when every run is consumed.
   * `recycled`: a batch the consumer is done with, whose buffers are reused (no allocation churn).
   */
  next(maxLines: number, maxBytes: number, recycled?: MergedBatch | null): MergedBatch | null {
    const heap = this.heap;
    if (heap.length === 0) return null;
    const reuse = recycled && recycled.lineEnds.buffer.byteLength >= 4 * maxLines ? recycled : null;
    let text = reuse ? Buffer.from(reuse.text.buffer) : Buffer.allocUnsafeSlow(Math.max(maxBytes, 64 * 1024));
    const lineEnds = reuse ? new Uint32Array(reuse.lineEnds.buffer, 0, maxLines) : new Uint32Array(maxLines);
    const origins = reuse ? new Float64Array(reuse.origins.buffer, 0, maxLines) : new Float64Array(maxLines);
    const flags = reuse ? new Uint8Array(reuse.flags.buffer, 0, maxLines) : new Uint8Array(maxLines);
    let count = 0;
    let used = 0;
    while (heap.length > 0 && count < maxLines && used < maxBytes) {
      const top = heap[0]!;
      const buf = top.buf;
      const at = top.at;
      const idBytes = readU32(buf, at + 32);
      const lineBytes = readU32(buf, at + 36);
      const lineStart = at + RECORD_HEADER_BYTES + idBytes;
      if (used + lineBytes > text.length) {
        const grown = Buffer.allocUnsafeSlow(Math.max(2 * text.length, used + lineBytes));
        text.copy(grown, 0, 0, used);
        text = grown;
      }
      text.set(buf.subarray(lineStart, lineStart + lineBytes), used);
      used += lineBytes;
      lineEnds[count] = used;
      origins[count] = top.origin;
      flags[count] = (readU32(buf, at + 12) & FLAG_VALIDATED) | (this.sameAsPrevious(top, idBytes) ? FLAG_SAME_KEY : 0);
      count++;
      if (top.advance()) siftDown(heap, 0);
      else {
        const last = heap.pop()!;
        if (heap.length > 0) {
          heap[0] = last;
          siftDown(heap, 0);
        }
      }
    }
    return { count, text: new Uint8Array(text.buffer, text.byteOffset, used), lineEnds: lineEnds.subarray(0, count), origins: origins.subarray(0, count), flags: flags.subarray(0, count) };
  }

  /** Compares the head's key with the previous line's, then remembers the head's. */
  private sameAsPrevious(top: RunCursor, idBytes: number): boolean {
    const idStart = top.at + RECORD_HEADER_BYTES;
    let same = top.lsnHi === this.previousHi && top.lsnLo === this.previousLo && top.position === this.previousPosition && idBytes === this.previousIdBytes;
    if (same) {
      for (let i = 0; i < idBytes; i++) {
        if (top.buf[idStart + i] !== this.previousId[i]) {
          same = false;
          break;
        }
      }
    }
    if (!same) {
      if (idBytes > this.previousId.length) this.previousId = new Uint8Array(2 * idBytes);
      this.previousId.set(top.buf.subarray(idStart, idStart + idBytes));
      this.previousIdBytes = idBytes;
      this.previousHi = top.lsnHi;
      this.previousLo = top.lsnLo;
      this.previousPosition = top.position;
    }
    return same;
  }

  close(): void {
    for (const cursor of this.cursors) cursor.close();
  }
}

/** Removes run files, ignoring ones already gone. */
export function removeRunFiles(files: readonly string[]): void {
  for (const file of files) fs.rmSync(file, { force: true });
}
