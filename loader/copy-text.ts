import type { ColumnSpec } from '../contracts/warehouse-model.js';
import type { WarehouseRow, WarehouseValue } from '../contracts/warehouse-row.js';

/**
 * Postgres COPY text format (tab-separated, `\N` for NULL). Backslash, tab, newline and carriage
 * return inside a value must be escaped, or one text value could split a row or a column.
 * Dates, times, money and instants are already exact strings (warehouse-row.ts), sent verbatim.
 */
const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

export function copyTextValue(value: WarehouseValue): string {
  if (value === null || value === undefined) return '\\N';
  switch (typeof value) {
    case 'string':
      return NEEDS_ESCAPE.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : value;
    case 'boolean':
      return value ? 't' : 'f';
    default:
      return String(value);
  }
}

export function copyTextLine(columns: readonly ColumnSpec[], row: WarehouseRow): string {
  let line = '';
  for (let i = 0; i < columns.length; i++) {
    if (i > 0) line += '\t';
    line += copyTextValue(row[columns[i].name] ?? null);
  }
  return line + '\n';
}

/** Yields COPY text in chunks of about `chunkChars`, so a file's rows stream without one huge string. */
export function* copyTextChunks(columns: readonly ColumnSpec[], rows: Iterable<WarehouseRow>, chunkChars = 256 * 1024): Generator<string> {
  let chunk = '';
  for (const row of rows) {
    chunk += copyTextLine(columns, row);
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
