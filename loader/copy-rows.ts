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

/**
 * COPYs one file's rows: in the binary format when every value is in its canonical form
 * (copy-binary.ts), else as text, which leaves an unusual value to Postgres's own parser.
 * `sqlFor` gives the COPY statement for a format.
 */
export async function copyRows(client: Pick<WarehouseClient, 'query'>, sqlFor: (format: CopyFormat) => string, columns: readonly ColumnSpec[], rows: readonly WarehouseRow[]): Promise<void> {
  const binary = encodeCopyBinary(columns, rows);
  const source = binary ? Readable.from(chunks(binary)) : Readable.from(copyTextChunks(columns, rows));
  await pipeline(source, client.query(copyFrom(sqlFor(binary ? 'binary' : 'text'))));
}

function* chunks(buffer: Buffer): Generator<Buffer> {
  for (let at = 0; at < buffer.length; at += CHUNK_BYTES) yield buffer.subarray(at, at + CHUNK_BYTES);
}
