/**
 * Encoding rows for `COPY … FROM STDIN` in Postgres' default text format: tab-separated, `\N` for
 * NULL, backslash escapes for the characters that would break a line or a field.
 */
export type CopyValue = string | number | boolean | null;

const NEEDS_ESCAPE = /[\\\t\n\r]/;

function escapeText(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

function encodeCopyValue(value: CopyValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return String(value);
  return escapeText(value);
}

export function encodeCopyLine(row: readonly CopyValue[]): string {
  let line = '';
  for (let i = 0; i < row.length; i++) line += (i ? '\t' : '') + encodeCopyValue(row[i]);
  return line + '\n';
}

/**
 * Groups lines into chunks of about `chunkBytes` so the COPY stream gets few large writes; rows are
 * pulled lazily from `rows`, so memory stays bounded by one chunk whatever the row count.
 */
export function* copyChunks(rows: Iterable<readonly CopyValue[]>, chunkBytes = 64 * 1024): Generator<string> {
  let chunk = '';
  for (const row of rows) {
    chunk += encodeCopyLine(row);
    if (chunk.length >= chunkBytes) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

/** Money as numeric(10,2) text from integer cents (never through floats). */
export function centsToDecimal(cents: number): string {
  const whole = Math.floor(cents / 100);
  const fraction = cents % 100;
  return `${whole}.${fraction < 10 ? '0' : ''}${fraction}`;
}
