import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { ColumnSpec } from '../contracts/warehouse-model.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import { encodeCopyBinary } from './copy-binary.js';
import { copyTextChunks } from './copy-text.js';
import type { WarehouseClient } from './warehouse-pool.js';

export type CopyFormat = 'binary' | 'text';

/** The `FROM STDIN` clause of a COPY in `format`. */
export const copyFromStdin = (format: CopyFormat) => (format === 'binary' ? 'FROM STDIN (FORMAT binary)' : 'FROM STDIN');

const CHUNK_BYTES = 256 * 1024;

/** A binary COPY stream encoded ahead by encodeCopyAhead (null: a value is not canonical, send text), for the rows array it is keyed by. */
interface EncodedAhead {
  columns: readonly ColumnSpec[];
  /** The array's length when encoded: a row added since makes the encoding stale. */
  rows: number;
  binary: Buffer | null;
}

const encodedAhead = new WeakMap<readonly WarehouseRow[], EncodedAhead>();

/**
 * Encodes the binary COPY stream of `rows` now, for a later copyRows of the same array and columns.
 * The loader reads the next manifests while Postgres runs the current transaction's statements
 * (manifest-load-queue.ts); encoding them then, instead of right before each COPY, takes the
 * encoding off the path where Postgres waits for the loader (docs/performance-loader.md, round six).
 * The rows must not change afterwards (a fetched manifest's rows never do): copyRows would send
 * the rows as they were.
 */
export function encodeCopyAhead(columns: readonly ColumnSpec[], rows: readonly WarehouseRow[]): void {
  encodedAhead.set(rows, { columns, rows: rows.length, binary: encodeCopyBinary(columns, rows) });
}

/**
 * What copyRows sends for `rows`: the binary stream (encoded ahead for this array and these
 * columns, else now), or the text format's chunks when a value is not canonical. Pure.
 */
export function copyPayload(columns: readonly ColumnSpec[], rows: readonly WarehouseRow[]): { format: CopyFormat; chunks: Iterable<Buffer | string> } {
  const ahead = encodedAhead.get(rows);
  const binary = ahead && ahead.columns === columns && ahead.rows === rows.length ? ahead.binary : encodeCopyBinary(columns, rows);
  return binary ? { format: 'binary', chunks: chunks(binary) } : { format: 'text', chunks: copyTextChunks(columns, rows) };
}

/**
 * COPYs one file's rows: in the binary format when every value is in its canonical form
 * (copy-binary.ts), else as text, which leaves an unusual value to Postgres's own parser.
 * `sqlFor` gives the COPY statement for a format.
 */
export async function copyRows(client: Pick<WarehouseClient, 'query'>, sqlFor: (format: CopyFormat) => string, columns: readonly ColumnSpec[], rows: readonly WarehouseRow[]): Promise<void> {
  const payload = copyPayload(columns, rows);
  await pipeline(Readable.from(payload.chunks), client.query(copyFrom(sqlFor(payload.format))));
}

function* chunks(buffer: Buffer): Generator<Buffer> {
  for (let at = 0; at < buffer.length; at += CHUNK_BYTES) yield buffer.subarray(at, at + CHUNK_BYTES);
}
