import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { ColumnSpec } from '../contracts/warehouse-model.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import { encodeCopyBinary } from './copy-binary.js';
import { copyTextChunks } from './copy-text.js';
import type { WarehouseClient } from './warehouse-pool.js';
import { rowsValue, type RowsValue } from './rows-ahead.js';

export type CopyFormat = 'binary' | 'text';

/** The `FROM STDIN` clause of a COPY in `format`. */
export const copyFromStdin = (format: CopyFormat) => (format === 'binary' ? 'FROM STDIN (FORMAT binary)' : 'FROM STDIN');

const CHUNK_BYTES = 256 * 1024;

/**
 * The binary COPY stream of a table's rows, or null when a value is not in its canonical form (the
 * rows go as text then), per column list. Kept with the rows (rows-ahead.ts) by the reader
 * (load-manifest.ts prepareAhead), while Postgres runs the transaction before, instead of encoded
 * right before each COPY.
 */
const encodedFor = new WeakMap<readonly ColumnSpec[], RowsValue<Buffer | null>>();

export function copyBinary(columns: readonly ColumnSpec[]): RowsValue<Buffer | null> {
  let value = encodedFor.get(columns);
  if (!value) encodedFor.set(columns, (value = rowsValue(`copy ${columns.map((c) => `${c.name} ${c.type}`).join(', ')}`, (rows) => encodeCopyBinary(columns, rows))));
  return value;
}

/** What copyRows sends for `rows`: the binary stream, or the text format's chunks when a value is not canonical. */
export function copyPayload(columns: readonly ColumnSpec[], rows: readonly WarehouseRow[]): { format: CopyFormat; chunks: Iterable<Buffer | string> } {
  const binary = copyBinary(columns).of(rows);
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
