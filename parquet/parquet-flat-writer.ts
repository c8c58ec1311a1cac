import type { ColumnChunk, Encoding, FileMetaData, KeyValue, RowGroup, SchemaElement } from 'hyparquet';
import { ByteWriter } from 'hyparquet-writer';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { writeIndexes } from 'hyparquet-writer/src/indexes.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { snappyCompressShared } from './snappy-compress.js';

/**
 * A columnar Parquet writer for flat schemas (REQUIRED/OPTIONAL leaves, no nesting) that produces
 * exactly the bytes hyparquet-writer 0.17's parquetWrite produces with its defaults (SNAPPY,
 * statistics on, 1 MiB pages, data page v2, dictionary when it pays, offset index for multi-page
 * chunks) and rowGroupSize 100,000. Byte identity is a contract, not a nicety: the processor's
 * idempotence rests on re-encoding the same rows giving the same sha256 across versions
 * (test/unit/warehouse-parquet-bytes.test.ts compares against the frozen previous encoder).
 *
 * The decisions that shape the bytes follow the library's rules, computed here on typed arrays
 * instead of per-value objects: the dictionary sample test and size check, min/max statistics,
 * page boundaries, RLE/bit-packed hybrid runs. The footer, page headers and offset index are the
 * library's own functions, so the Thrift details cannot drift apart; snappy-compress.ts mirrors its
 * compressor.
 */

const ROW_GROUP_SIZE = 100_000;
const PAGE_SIZE = 1_048_576;
const PARQUET_MAGIC = 0x31524150; // "PAR1"
const SAMPLE_SIZE = 1000;
const SAMPLE_REJECTION_RATIO = 0.9;

/**
 * One column's values for the whole file, already in physical form. `nulls` marks null rows
 * (1 = null) for typed arrays; the array kinds hold null in place.
 */
export type FlatColumn =
  | { kind: 'int32'; element: SchemaElement; values: Int32Array; nulls: Uint8Array | null }
  /** INT64 whose values are all safe integers (cents, epoch ms): no BigInt per value. */
  | { kind: 'int64'; element: SchemaElement; values: Float64Array; nulls: Uint8Array | null }
  | { kind: 'bigint'; element: SchemaElement; values: (bigint | null)[] }
  | { kind: 'text'; element: SchemaElement; values: (string | null)[] }
  | { kind: 'boolean'; element: SchemaElement; values: Uint8Array; nulls: Uint8Array | null };

/** Growable byte buffer reused across pages (encoding is synchronous, so one set per module is safe). */
class Bytes {
  bytes = new Uint8Array(1 << 16);
  view = new DataView(this.bytes.buffer);
  length = 0;

  reset(): void {
    if (this.bytes.length > 1 << 24) {
      // Do not pin a huge page's buffer between files.
      this.bytes = new Uint8Array(1 << 16);
      this.view = new DataView(this.bytes.buffer);
    }
    this.length = 0;
  }

  reserve(count: number): void {
    if (this.length + count <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + count) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  u8(value: number): void {
    this.reserve(1);
    this.bytes[this.length++] = value;
  }

  int32(value: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, value, true);
    this.length += 4;
  }

  bigint64(value: bigint): void {
    this.reserve(8);
    this.view.setBigInt64(this.length, value, true);
    this.length += 8;
  }

  varint(value: number): void {
    this.reserve(5);
    while ((value & ~0x7f) !== 0) {
      this.bytes[this.length++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.bytes[this.length++] = value;
  }

  get contents(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

const levelBytes = new Bytes();
const bodyBytes = new Bytes();
const plainText = new Bytes();
let scratchInts = new Int32Array(1024);

function ints(count: number): Int32Array {
  if (scratchInts.length < count) scratchInts = new Int32Array(Math.max(count, scratchInts.length * 2));
  return scratchInts;
}

/**
 * RLE / bit-packed hybrid of values[0..count), with the library's run choice: a run of 8 or more
 * equal values from the current position is RLE, otherwise the next 8 values (zero-padded past the
 * end) join the pending bit-packed groups.
 */
function writeHybrid(out: Bytes, values: Int32Array, count: number, bitWidth: number): void {
  let pendingGroups = 0;
  let packedStart = 0;
  let i = 0;
  while (i < count) {
    const first = values[i];
    let run = 1;
    while (i + run < count && values[i + run] === first) run++;
    if (run >= 8) {
      if (pendingGroups) {
        writePackedGroups(out, values, count, packedStart, pendingGroups, bitWidth);
        pendingGroups = 0;
      }
      out.varint(run << 1);
      const width = (bitWidth + 7) >> 3;
      out.reserve(width);
      for (let j = 0; j < width; j++) out.bytes[out.length++] = (first >> (j << 3)) & 0xff;
      i += run;
    } else {
      if (pendingGroups === 0) packedStart = i;
      pendingGroups++;
      i += 8;
    }
  }
  if (pendingGroups) writePackedGroups(out, values, count, packedStart, pendingGroups, bitWidth);
}

function writePackedGroups(out: Bytes, values: Int32Array, count: number, start: number, groups: number, bitWidth: number): void {
  out.varint((groups << 1) | 1);
  if (bitWidth === 0) return;
  out.reserve(groups * bitWidth + 1);
  const mask = (1 << bitWidth) - 1;
  const bytes = out.bytes;
  let length = out.length;
  let buffer = 0;
  let bitsUsed = 0;
  const end = start + groups * 8;
  for (let idx = start; idx < end; idx++) {
    buffer |= (idx < count ? values[idx] & mask : 0) << bitsUsed;
    bitsUsed += bitWidth;
    while (bitsUsed >= 8) {
      bytes[length++] = buffer & 0xff;
      buffer >>>= 8;
      bitsUsed -= 8;
    }
  }
  if (bitsUsed > 0) bytes[length++] = buffer & 0xff;
  out.length = length;
}

function isNullAt(column: FlatColumn, row: number): boolean {
  switch (column.kind) {
    case 'bigint':
    case 'text':
      return column.values[row] === null;
    default:
      return column.nulls !== null && column.nulls[row] === 1;
  }
}

/** Appends a string as PLAIN BYTE_ARRAY (u32 length + UTF-8, lone surrogates as U+FFFD like TextEncoder). */
const encoder = new TextEncoder();
function appendText(out: Bytes, text: string): void {
  const n = text.length;
  out.reserve(4 + n * 3);
  const bytes = out.bytes;
  const at = out.length;
  let p = at + 4;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      ascii = false;
      break;
    }
    bytes[p++] = c;
  }
  if (!ascii) p = at + 4 + encoder.encodeInto(text, bytes.subarray(at + 4)).written;
  out.view.setUint32(at, p - at - 4, true);
  out.length = p;
}

function appendInt64(out: Bytes, value: number): void {
  out.reserve(8);
  const high = Math.floor(value / 4294967296);
  out.view.setUint32(out.length, value - high * 4294967296, true);
  out.view.setInt32(out.length + 4, high, true);
  out.length += 8;
}

/** UTF-8 byte order (= code point order) of two strings, lone surrogates as U+FFFD: hyparquet-writer's statistics order. */
function compareText(left: string, right: string): number {
  if (left === right) return 0;
  const length = Math.min(left.length, right.length);
  let i = 0;
  while (i < length && left.charCodeAt(i) === right.charCodeAt(i)) i++;
  if (i < length) {
    const a = left.charCodeAt(i);
    const b = right.charCodeAt(i);
    if (a < 0xd800 && b < 0xd800) return a - b;
    return compareCodePoints(left, right, i > 0 && isHighSurrogate(left.charCodeAt(i - 1)) ? i - 1 : i);
  }
  return left.length - right.length;
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;

function codePointOrReplacement(text: string, i: number): number {
  const code = text.codePointAt(i) ?? 0xfffd;
  return code >= 0xd800 && code <= 0xdfff ? 0xfffd : code;
}

function compareCodePoints(left: string, right: string, from: number): number {
  let i = from;
  while (i < left.length && i < right.length) {
    const a = codePointOrReplacement(left, i);
    const b = codePointOrReplacement(right, i);
    if (a !== b) return a - b;
    i += a > 0xffff ? 2 : 1;
  }
  return left.length - right.length;
}

type Key = number | bigint | string;

/** The column's value at `row` as the dictionary and statistics see it (null for null). */
function keyAt(column: FlatColumn, row: number): Key | null {
  switch (column.kind) {
    case 'bigint':
    case 'text':
      return column.values[row];
    case 'int32':
    case 'int64':
    case 'boolean':
      return column.nulls !== null && column.nulls[row] === 1 ? null : column.values[row];
  }
}

/** PLAIN size the library estimates for a value (strings by UTF-16 length, as it does). */
function estimatedSize(column: FlatColumn, key: Key): number {
  switch (column.kind) {
    case 'int32':
      return 4;
    case 'int64':
    case 'bigint':
      return 8;
    default:
      return (key as string).length;
  }
}

interface Dictionary {
  entries: Key[];
  /** Per row of the chunk: entry index, -1 for null. */
  indexes: Int32Array;
  nonNull: number;
  /** Whether the dictionary passed the size check (else the chunk is PLAIN; entries still serve statistics). */
  pays: boolean;
}

/** The library's two-stage dictionary decision: a spread sample must not be >90% distinct, then the full dictionary must halve the bytes. */
function buildDictionary(column: FlatColumn, start: number, end: number): Dictionary | null {
  const count = end - start;
  const prefix = column.kind === 'text' ? 4 : 0;
  const sampleSize = Math.min(count, SAMPLE_SIZE);
  const sampled = new Map<Key | null, number>();
  let sampleDistinctBytes = 0;
  let sampleBytes = 0;
  for (let i = 0; i < sampleSize; i++) {
    const row = start + (sampleSize === 1 ? 0 : Math.floor((i * (count - 1)) / (sampleSize - 1)));
    const key = keyAt(column, row);
    let size = sampled.get(key);
    if (size === undefined) {
      size = key === null ? 0 : estimatedSize(column, key) + prefix;
      sampled.set(key, size);
      sampleDistinctBytes += size;
    }
    sampleBytes += size;
  }
  if (!sampleBytes || sampleDistinctBytes / sampleBytes > SAMPLE_REJECTION_RATIO) return null;

  const entries: Key[] = [];
  const indexes = new Int32Array(count);
  const indexOf = new Map<Key, number>();
  let distinctBytes = 0;
  let totalBytes = 0;
  let nonNull = 0;
  // The previous non-null key and its index: a key equal to it (=== agrees with the Map's
  // SameValueZero on numbers, bigints and strings, NaN aside, which only misses) needs no lookup.
  // Columns come in runs (a batch's commit time and LSN, a transaction's dates, a snapshot in key
  // order), and the lookups were most of this function.
  let previousKey: Key | undefined;
  let previousIndex = -1;
  for (let i = 0; i < count; i++) {
    const key = keyAt(column, start + i);
    if (key === null) {
      indexes[i] = -1;
      continue;
    }
    nonNull++;
    const size = estimatedSize(column, key);
    totalBytes += size;
    if (key === previousKey) {
      indexes[i] = previousIndex;
      continue;
    }
    let index = indexOf.get(key);
    if (index === undefined) {
      distinctBytes += size;
      index = entries.length;
      entries.push(key);
      indexOf.set(key, index);
    }
    indexes[i] = index;
    previousKey = key;
    previousIndex = index;
  }
  const bitWidth = Math.ceil(Math.log2(entries.length));
  const indexBytes = Math.ceil((nonNull * bitWidth) / 8);
  const plainBytes = totalBytes + nonNull * prefix;
  const dictionaryBytes = distinctBytes + entries.length * prefix;
  return { entries, indexes, nonNull, pays: !(2 * (dictionaryBytes + indexBytes) > plainBytes) };
}

function less(column: FlatColumn, a: Key, b: Key): boolean {
  return column.kind === 'text' ? compareText(a as string, b as string) < 0 : a < b;
}

/** Min/max over the chunk (or its distinct values), first of equals kept, as the library keeps it. */
function statisticsOf(column: FlatColumn, start: number, end: number, dictionary: Dictionary | null) {
  let min: Key | boolean | undefined;
  let max: Key | boolean | undefined;
  let nulls = 0;
  if (dictionary) {
    nulls = end - start - dictionary.nonNull;
    for (const key of dictionary.entries) {
      if (min === undefined || less(column, key, min as Key)) min = key;
      if (max === undefined || less(column, max as Key, key)) max = key;
    }
  } else if (column.kind === 'boolean') {
    for (let row = start; row < end; row++) {
      if (column.nulls !== null && column.nulls[row] === 1) {
        nulls++;
        continue;
      }
      const value = column.values[row] === 1;
      if (min === undefined || (!value && min)) min = value;
      if (max === undefined || (value && !max)) max = value;
    }
  } else if (column.kind === 'int32' || column.kind === 'int64') {
    // The same comparisons as the generic loop below, on the typed array directly (no key read
    // through a switch, no `less` call per value): ids and other unique columns take this path.
    const { values, nulls: isNull } = column;
    let low = 0;
    let high = 0;
    let any = false;
    for (let row = start; row < end; row++) {
      if (isNull !== null && isNull[row] === 1) {
        nulls++;
        continue;
      }
      const value = values[row]!;
      if (!any) {
        low = high = value;
        any = true;
        continue;
      }
      if (value < low) low = value;
      if (high < value) high = value;
    }
    if (any) {
      min = low;
      max = high;
    }
  } else {
    for (let row = start; row < end; row++) {
      const key = keyAt(column, row);
      if (key === null) {
        nulls++;
        continue;
      }
      if (min === undefined || less(column, key, min as Key)) min = key;
      if (max === undefined || less(column, max as Key, key)) max = key;
    }
  }
  // The footer serializes INT64 statistics from bigints (DECIMAL ones only from bigints).
  if (column.kind === 'int64' && min !== undefined) {
    min = BigInt(min as number);
    max = BigInt(max as number);
  }
  return { min_value: min, max_value: max, null_count: BigInt(nulls), nan_count: undefined };
}

/** How a dictionary entry is written PLAIN, per physical kind (booleans are never dictionary-encoded). */
const PLAIN_ENTRY: Record<Exclude<FlatColumn['kind'], 'boolean'>, (out: Bytes, key: Key) => void> = {
  int32: (out, key) => out.int32(key as number),
  int64: (out, key) => appendInt64(out, key as number),
  bigint: (out, key) => out.bigint64(key as bigint),
  text: (out, key) => appendText(out, key as string),
};

/** PLAIN body of a dictionary page: the entries in dictionary order. */
function writePlainEntries(out: Bytes, column: FlatColumn, entries: readonly Key[]): void {
  if (column.kind === 'boolean') throw new Error('boolean columns have no dictionary');
  const write = PLAIN_ENTRY[column.kind];
  for (const key of entries) write(out, key);
}

/** PLAIN body of the non-null values of rows [start, end). */
function writePlainRows(out: Bytes, column: FlatColumn, start: number, end: number): void {
  switch (column.kind) {
    case 'int32': {
      out.reserve((end - start) * 4);
      const { values, nulls } = column;
      for (let row = start; row < end; row++) {
        if (nulls !== null && nulls[row] === 1) continue;
        out.view.setInt32(out.length, values[row], true);
        out.length += 4;
      }
      return;
    }
    case 'int64': {
      const { values, nulls } = column;
      for (let row = start; row < end; row++) if (nulls === null || nulls[row] !== 1) appendInt64(out, values[row]);
      return;
    }
    case 'bigint': {
      out.reserve((end - start) * 8);
      for (let row = start; row < end; row++) {
        const value = column.values[row];
        if (value === null) continue;
        out.view.setBigInt64(out.length, value, true);
        out.length += 8;
      }
      return;
    }
    case 'text':
      for (let row = start; row < end; row++) {
        const value = column.values[row];
        if (value !== null) appendText(out, value);
      }
      return;
    case 'boolean': {
      const { values, nulls } = column;
      let current = 0;
      let bit = 0;
      for (let row = start; row < end; row++) {
        if (nulls !== null && nulls[row] === 1) continue;
        if (values[row] === 1) current |= 1 << bit;
        if (++bit === 8) {
          out.u8(current);
          current = 0;
          bit = 0;
        }
      }
      if (bit) out.u8(current);
      return;
    }
  }
}

/** Pages as [start, end) row ranges: a page closes before the value that takes it to PAGE_SIZE estimated bytes. */
function pageBoundaries(count: number, sizeOf: (i: number) => number): number[] {
  const starts = [0];
  let pageStart = 0;
  let accumulated = 0;
  for (let i = 0; i < count; i++) {
    const size = sizeOf(i);
    accumulated += size;
    if (accumulated >= PAGE_SIZE && i > pageStart) {
      starts.push(i);
      pageStart = i;
      accumulated = size;
    }
  }
  starts.push(count);
  return starts;
}

const FIXED_SIZE = { int32: 4, int64: 8, bigint: 8, boolean: 0.125 } as const;

interface ChunkResult {
  chunk: ColumnChunk;
  offsetIndex?: { page_locations: { offset: bigint; compressed_page_size: number; first_row_index: bigint }[] };
}

/** INT64's range (constants: `2n ** 63n` in the check made two BigInts per value). */
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function writeColumnChunk(writer: ByteWriter, column: FlatColumn, start: number, end: number): ChunkResult {
  const { element } = column;
  const type = element.type!;
  const count = end - start;
  const optional = element.repetition_type === 'OPTIONAL';
  const offsetStart = writer.offset;
  let uncompressedSize = 0;
  const encodings: Encoding[] = [];

  if (column.kind === 'bigint') {
    for (let row = start; row < end; row++) {
      const value = column.values[row];
      if (value !== null && (value < INT64_MIN || value > INT64_MAX)) throw new RangeError(`parquet INT64 value out of range: ${value}`);
    }
  }

  const dictionary = column.kind === 'boolean' ? null : buildDictionary(column, start, end);
  const statistics = statisticsOf(column, start, end, dictionary);

  let dictionaryPageOffset: bigint | undefined;
  let encoding: Encoding;
  if (dictionary?.pays) {
    dictionaryPageOffset = BigInt(writer.offset);
    bodyBytes.reset();
    writePlainEntries(bodyBytes, column, dictionary.entries);
    const plain = bodyBytes.contents;
    const compressed = snappyCompressShared(plain);
    const headerStart = writer.offset;
    writePageHeader(writer, {
      type: 'DICTIONARY_PAGE',
      uncompressed_page_size: plain.byteLength,
      compressed_page_size: compressed.byteLength,
      dictionary_page_header: { num_values: dictionary.entries.length, encoding: 'PLAIN' },
    });
    uncompressedSize += writer.offset - headerStart + plain.byteLength;
    writer.appendBytes(compressed);
    encodings.push('PLAIN');
    encoding = 'RLE_DICTIONARY';
  } else {
    encoding = column.kind === 'boolean' && count > 16 ? 'RLE' : 'PLAIN';
  }
  encodings.push(encoding);

  // Text goes PLAIN-encoded once up front: its UTF-8 lengths decide the pages.
  let textOffsets: Int32Array | null = null;
  let pages: number[];
  if (encoding === 'PLAIN' && column.kind === 'text') {
    plainText.reset();
    textOffsets = new Int32Array(count + 1);
    for (let i = 0; i < count; i++) {
      textOffsets[i] = plainText.length;
      const value = column.values[start + i];
      if (value !== null) appendText(plainText, value);
    }
    textOffsets[count] = plainText.length;
    const offsets = textOffsets;
    pages = pageBoundaries(count, (i) => (offsets[i + 1] === offsets[i] ? 0 : offsets[i + 1] - offsets[i] - 4));
  } else {
    const size = encoding === 'RLE_DICTIONARY' ? 4 : FIXED_SIZE[column.kind as keyof typeof FIXED_SIZE];
    pages = count * size < PAGE_SIZE ? [0, count] : pageBoundaries(count, (i) => (isNullAt(column, start + i) ? 0 : size));
  }

  const pageCount = pages.length - 1;
  const offsetIndex: ChunkResult['offsetIndex'] = pageCount > 1 ? { page_locations: [] } : undefined;
  const dataPageOffset = BigInt(writer.offset);
  for (let p = 0; p < pageCount; p++) {
    const pageStart = pages[p];
    const pageEnd = pages[p + 1];
    const rows = pageEnd - pageStart;
    const pageOffset = writer.offset;

    levelBytes.reset();
    let nulls = 0;
    if (optional) {
      const levels = ints(rows);
      for (let i = 0; i < rows; i++) {
        const isNull = isNullAt(column, start + pageStart + i);
        if (isNull) nulls++;
        levels[i] = isNull ? 0 : 1;
      }
      writeHybrid(levelBytes, levels, rows, 1);
    }

    bodyBytes.reset();
    if (encoding === 'RLE_DICTIONARY') {
      const indexes = ints(rows);
      let nonNull = 0;
      let maxIndex = 0;
      for (let i = pageStart; i < pageEnd; i++) {
        const index = dictionary!.indexes[i];
        if (index < 0) continue;
        indexes[nonNull++] = index;
        if (index > maxIndex) maxIndex = index;
      }
      const bitWidth = Math.ceil(Math.log2(maxIndex + 1));
      bodyBytes.u8(bitWidth);
      writeHybrid(bodyBytes, indexes, nonNull, bitWidth);
    } else if (encoding === 'RLE') {
      const bits = ints(rows);
      let nonNull = 0;
      const booleans = column as Extract<FlatColumn, { kind: 'boolean' }>;
      for (let row = start + pageStart; row < start + pageEnd; row++) {
        if (booleans.nulls === null || booleans.nulls[row] !== 1) bits[nonNull++] = booleans.values[row];
      }
      bodyBytes.reserve(4);
      bodyBytes.length = 4;
      writeHybrid(bodyBytes, bits, nonNull, 1);
      bodyBytes.view.setUint32(0, bodyBytes.length - 4, true);
    } else if (!textOffsets) {
      writePlainRows(bodyBytes, column, start + pageStart, start + pageEnd);
    }
    // PLAIN text was encoded above for the page boundaries: the page body is a slice of it.
    const body = textOffsets ? plainText.bytes.subarray(textOffsets[pageStart], textOffsets[pageEnd]) : bodyBytes.contents;
    const compressed = snappyCompressShared(body);
    const levels = levelBytes.contents;

    const headerStart = writer.offset;
    writePageHeader(writer, {
      type: 'DATA_PAGE_V2',
      uncompressed_page_size: levels.length + body.length,
      compressed_page_size: levels.length + compressed.length,
      data_page_header_v2: {
        num_values: rows,
        num_nulls: nulls,
        num_rows: rows,
        encoding,
        definition_levels_byte_length: levels.length,
        repetition_levels_byte_length: 0,
        is_compressed: true,
      },
    });
    const headerSize = writer.offset - headerStart;
    writer.appendBytes(levels);
    writer.appendBytes(compressed);
    uncompressedSize += headerSize + levels.length + body.length;
    offsetIndex?.page_locations.push({ offset: BigInt(pageOffset), compressed_page_size: writer.offset - pageOffset, first_row_index: BigInt(pageStart) });
  }

  const encodingStats: { page_type: 'DICTIONARY_PAGE' | 'DATA_PAGE_V2'; encoding: Encoding; count: number }[] = [];
  if (dictionaryPageOffset !== undefined) encodingStats.push({ page_type: 'DICTIONARY_PAGE', encoding: 'PLAIN', count: 1 });
  encodingStats.push({ page_type: 'DATA_PAGE_V2', encoding, count: pageCount });

  return {
    chunk: {
      meta_data: {
        type,
        encodings,
        path_in_schema: [element.name],
        codec: 'SNAPPY',
        num_values: BigInt(count),
        total_compressed_size: BigInt(writer.offset - offsetStart),
        total_uncompressed_size: BigInt(uncompressedSize),
        data_page_offset: dataPageOffset,
        dictionary_page_offset: dictionaryPageOffset,
        statistics: statistics as never,
        encoding_stats: encodingStats,
      },
      file_offset: BigInt(offsetStart),
    },
    offsetIndex,
  };
}

/** Writes `rowCount` rows of flat `columns` (schema = root + one element per column, in order) as a Parquet file. */
export function writeFlatParquet(schema: SchemaElement[], columns: readonly FlatColumn[], rowCount: number, kvMetadata: KeyValue[]): Uint8Array {
  const writer = new ByteWriter();
  writer.appendUint32(PARQUET_MAGIC);
  const rowGroups: RowGroup[] = [];
  const pageIndexes: ChunkResult[] = [];
  let numRows = 0n;
  for (let start = 0; start < rowCount; start += ROW_GROUP_SIZE) {
    const end = Math.min(start + ROW_GROUP_SIZE, rowCount);
    const groupStartOffset = writer.offset;
    const chunks: ColumnChunk[] = [];
    for (const column of columns) {
      const result = writeColumnChunk(writer, column, start, end);
      chunks.push(result.chunk);
      pageIndexes.push(result);
    }
    let totalByteSize = 0n;
    for (const chunk of chunks) totalByteSize += chunk.meta_data!.total_uncompressed_size;
    numRows += BigInt(end - start);
    rowGroups.push({ columns: chunks, total_byte_size: totalByteSize, num_rows: BigInt(end - start), total_compressed_size: BigInt(writer.offset - groupStartOffset) });
  }
  writeIndexes(writer, pageIndexes);
  const metadata = { version: 2, created_by: 'hyparquet', schema, num_rows: numRows, row_groups: rowGroups, key_value_metadata: kvMetadata };
  writeMetadata(writer, metadata as FileMetaData);
  writer.appendUint32(PARQUET_MAGIC);
  return new Uint8Array(writer.getBuffer());
}
