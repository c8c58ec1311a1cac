import type { FileMetaData } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';

/**
 * Bounds on a Parquet file from the processed bucket, checked from its footer and page headers
 * BEFORE any value is decoded. The bucket is writable by more than the processor (see SECURITY.md):
 * a 1 KB file whose footer claims 50M rows would otherwise make the reader allocate for 50M rows
 * and kill the loader with a heap OOM on every run. With these checks, decoding allocates at most
 * `rows × columns` values and pages of at most `maxPageBytes`, whatever the bytes say.
 */
export interface ParquetReadLimits {
  /** Most rows one file may hold (the processor writes a few thousand per table and batch). */
  maxRows: number;
  /**
   * Most rows per byte of file, above `rowsFloor`. The processor's files take 4 bytes or more per
   * row (every row has a distinct key), so 1 leaves a margin of 4 and ties memory to the file size.
   */
  maxRowsPerByte: number;
  rowsFloor: number;
  /** Largest footer (thrift metadata). Ours are a few KB. */
  maxFooterBytes: number;
  /** Most row groups (ours: one per 100k rows). */
  maxRowGroups: number;
  /** Largest page once decompressed (ours: at most 1 MB or so). */
  maxPageBytes: number;
  /** Largest file fetched (checked against the manifest's size before the fetch). */
  maxFileBytes: number;
}

export const DEFAULT_PARQUET_READ_LIMITS: Readonly<ParquetReadLimits> = Object.freeze({
  maxRows: 1_000_000,
  maxRowsPerByte: 1,
  rowsFloor: 4096,
  maxFooterBytes: 8 * 1024 * 1024,
  maxRowGroups: 1024,
  maxPageBytes: 64 * 1024 * 1024,
  maxFileBytes: 1024 * 1024 * 1024,
});

/** The file is outside a bound: permanent (the same bytes fail again), never retried. */
export class ParquetBoundsError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'ParquetBoundsError';
  }
}

const MAGIC = 0x31524150; // 'PAR1' little-endian

/** Footer length and magic, checked before the footer is parsed. */
export function checkParquetFrame(bytes: Uint8Array, limits: ParquetReadLimits): void {
  if (bytes.byteLength < 12) throw new ParquetBoundsError(`file is ${bytes.byteLength} bytes: too short to be Parquet`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC || view.getUint32(bytes.byteLength - 4, true) !== MAGIC) throw new ParquetBoundsError('missing PAR1 magic');
  const footer = view.getUint32(bytes.byteLength - 8, true);
  if (footer > bytes.byteLength - 12) throw new ParquetBoundsError(`footer claims ${footer} bytes in a ${bytes.byteLength}-byte file`);
  if (footer > limits.maxFooterBytes) throw new ParquetBoundsError(`footer is ${footer} bytes, more than the ${limits.maxFooterBytes} allowed`);
}

/** Most rows a file of `fileBytes` may claim under `limits`. */
export function maxRowsForFile(fileBytes: number, limits: ParquetReadLimits): number {
  return Math.min(limits.maxRows, Math.max(limits.rowsFloor, Math.floor(fileBytes * limits.maxRowsPerByte)));
}

/**
 * Checks the parsed footer against the file and the limits, then walks every page header of every
 * column chunk (headers only, no data): each page lies inside its chunk, decompresses to at most
 * `maxPageBytes`, and a chunk's pages hold no more values than its row group has rows.
 */
export function checkParquetMetadata(bytes: Uint8Array, metadata: FileMetaData, limits: ParquetReadLimits): void {
  const rows = Number(metadata.num_rows);
  if (!Number.isSafeInteger(rows) || rows < 0) throw new ParquetBoundsError(`footer claims ${metadata.num_rows} rows`);
  const allowed = maxRowsForFile(bytes.byteLength, limits);
  if (rows > allowed) {
    throw new ParquetBoundsError(
      `footer claims ${rows} rows in a ${bytes.byteLength}-byte file; at most ${allowed} allowed ` +
        `(${limits.maxRowsPerByte} per byte, at most ${limits.maxRows} per file: raise TOTESYS_MAX_PARQUET_ROWS for larger files)`,
    );
  }
  const groups = metadata.row_groups;
  if (groups.length > limits.maxRowGroups) throw new ParquetBoundsError(`${groups.length} row groups, more than the ${limits.maxRowGroups} allowed`);
  const leaves = metadata.schema.length - 1;
  let groupRowsTotal = 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const [g, group] of groups.entries()) {
    const groupRows = Number(group.num_rows);
    if (!Number.isSafeInteger(groupRows) || groupRows < 0) throw new ParquetBoundsError(`row group ${g} claims ${group.num_rows} rows`);
    groupRowsTotal += groupRows;
    if (group.columns.length !== leaves) throw new ParquetBoundsError(`row group ${g} has ${group.columns.length} column chunks for ${leaves} columns`);
    for (const [c, chunk] of group.columns.entries()) {
      const meta = chunk.meta_data;
      const where = `row group ${g}, column ${meta?.path_in_schema?.join('.') ?? c}`;
      if (!meta) throw new ParquetBoundsError(`${where}: no column metadata`);
      if (meta.codec !== 'SNAPPY' && meta.codec !== 'UNCOMPRESSED') throw new ParquetBoundsError(`${where}: codec ${meta.codec} is not read`);
      const values = Number(meta.num_values);
      if (values !== groupRows) throw new ParquetBoundsError(`${where}: ${meta.num_values} values for ${groupRows} rows`);
      const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
      const end = start + Number(meta.total_compressed_size);
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 4 || end > bytes.byteLength || end < start) {
        throw new ParquetBoundsError(`${where}: chunk [${start}, ${end}) lies outside the ${bytes.byteLength}-byte file`);
      }
      checkPages(view, start, end, values, limits, where);
    }
  }
  if (groupRowsTotal !== rows) throw new ParquetBoundsError(`row groups hold ${groupRowsTotal} rows, footer claims ${rows}`);
}

function checkPages(view: DataView, start: number, end: number, values: number, limits: ParquetReadLimits, where: string): void {
  const chunk = new DataView(view.buffer, view.byteOffset + start, end - start);
  const reader = { view: chunk, offset: 0 };
  let seen = 0;
  while (seen < values) {
    if (reader.offset >= chunk.byteLength) throw new ParquetBoundsError(`${where}: pages end after ${seen} of ${values} values`);
    let header: ReturnType<typeof parquetHeader>;
    try {
      header = parquetHeader(reader);
    } catch (error) {
      throw new ParquetBoundsError(`${where}: unreadable page header at byte ${start + reader.offset} (${(error as Error).message})`);
    }
    const compressed = header.compressed_page_size;
    const uncompressed = header.uncompressed_page_size;
    if (!Number.isSafeInteger(compressed) || compressed < 0 || reader.offset + compressed > chunk.byteLength) {
      throw new ParquetBoundsError(`${where}: page of ${compressed} bytes at byte ${start + reader.offset} runs past its chunk`);
    }
    if (!Number.isSafeInteger(uncompressed) || uncompressed < 0 || uncompressed > limits.maxPageBytes) {
      throw new ParquetBoundsError(`${where}: page claims ${uncompressed} bytes decompressed, more than the ${limits.maxPageBytes} allowed`);
    }
    const v2 = header.data_page_header_v2;
    if (v2) {
      // A level section's length missing or out of the page made the decoder's read position NaN:
      // it then read byte 0 for ever (found by the fuzz test in test/unit/security-fuzz.test.ts).
      const levels = [v2.definition_levels_byte_length, v2.repetition_levels_byte_length];
      if (!levels.every((n) => Number.isSafeInteger(n) && n >= 0) || levels[0] + levels[1] > Math.min(compressed, uncompressed)) {
        throw new ParquetBoundsError(`${where}: page levels of ${levels.join(' + ')} bytes do not fit its ${compressed} bytes`);
      }
      if (!Number.isSafeInteger(v2.num_nulls) || v2.num_nulls < 0 || v2.num_nulls > v2.num_values || !Number.isSafeInteger(v2.num_rows) || v2.num_rows < 0 || v2.num_rows > v2.num_values) {
        throw new ParquetBoundsError(`${where}: page claims ${v2.num_nulls} nulls and ${v2.num_rows} rows in ${v2.num_values} values`);
      }
    }
    const pageValues = header.data_page_header?.num_values ?? v2?.num_values;
    if (pageValues !== undefined) {
      if (!Number.isSafeInteger(pageValues) || pageValues < 0 || seen + pageValues > values) throw new ParquetBoundsError(`${where}: page claims ${pageValues} values, chunk has ${values - seen} left`);
      seen += pageValues;
    } else if (header.dictionary_page_header) {
      const entries = header.dictionary_page_header.num_values;
      // A dictionary entry takes at least one bit (booleans) of the decompressed page.
      if (!Number.isSafeInteger(entries) || entries < 0 || entries > uncompressed * 8) throw new ParquetBoundsError(`${where}: dictionary claims ${entries} entries in ${uncompressed} bytes`);
    } else if (header.type !== 'INDEX_PAGE') {
      throw new ParquetBoundsError(`${where}: page of type ${header.type} is not read`);
    }
    reader.offset += compressed;
  }
}
