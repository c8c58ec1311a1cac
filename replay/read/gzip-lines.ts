import { createGunzip, gunzipSync } from 'node:zlib';

/**
 * Splits a GZIP NDJSON object into lines while decompressing in chunks (memory bounded by the
 * largest line plus zlib's window, not by the uncompressed size). Concatenated GZIP members, which
 * Firehose and `cat a.gz b.gz` produce, read as one stream.
 *
 * Never throws: a corrupt or truncated stream ends the lines and reports `gzipError`; the text after
 * the last newline is reported as `tail` (a truncated line, or a last record without a delimiter).
 * forEachGzipLine hands out strings; forEachGzipLineBytes (the replay scan) byte ranges.
 */
export interface GzipLinesResult {
  /** Complete (newline-terminated) lines delivered. */
  lines: number;
  /** Uncompressed bytes. */
  bytes: number;
  /** Text after the last newline, if any. */
  tail: string | null;
  gzipError: Error | null;
}

const INPUT_SLICE_BYTES = 64 * 1024;

/**
 * `onLines` may return a promise (backpressure): decompression pauses until it settles. Its
 * rejection is the caller's to observe; the lines go on either way.
 */
export async function forEachGzipLine(
  compressed: Uint8Array,
  onLines: (lines: string[], firstLineNumber: number) => void | Promise<void>,
): Promise<GzipLinesResult> {
  let lines = 0;
  const result = await splitGzipLines(compressed, (data, start, end) => {
    const out: string[] = [];
    for (let nl = data.indexOf(10, start); nl !== -1 && nl < end; nl = data.indexOf(10, start)) {
      out.push(data.toString('utf8', start, nl));
      start = nl + 1;
    }
    if (out.length === 0) return undefined;
    const first = lines + 1;
    lines += out.length;
    return onLines(out, first);
  });
  return { lines, bytes: result.bytes, tail: result.tail === null ? null : result.tail.toString('utf8'), gzipError: result.gzipError };
}

export interface GzipLineBytesResult extends Omit<GzipLinesResult, 'tail'> {
  /** Bytes after the last newline, if any. */
  tail: Buffer | null;
}

/**
 * The same lines as forEachGzipLine, as byte ranges: `onLine(data, start, end, lineNumber)` for each
 * complete line, synchronously; `data` is only valid during the call. No string is made.
 *
 * An object that inflates in one go to at most WHOLE_OBJECT_MAX_BYTES is decompressed whole (about
 * twice as fast as the stream: no per-chunk round trips, no carried line copies). Anything else,
 * including every damaged object, goes through forEachGzipLine's chunked stream, so the lines read
 * before a corrupt region and the error are exactly the same (a whole-object inflate either
 * succeeds with the stream's output or fails without having delivered anything).
 */
export async function forEachGzipLineBytes(compressed: Uint8Array, onLine: (data: Buffer, start: number, end: number, lineNumber: number) => void): Promise<GzipLineBytesResult> {
  let lines = 0;
  const split = (data: Buffer, start: number, end: number) => {
    for (let nl = data.indexOf(10, start); nl !== -1 && nl < end; nl = data.indexOf(10, start)) {
      onLine(data, start, nl, ++lines);
      start = nl + 1;
    }
    return start;
  };
  const whole = inflateWhole(compressed);
  if (whole) {
    const rest = split(whole, 0, whole.length);
    return { lines, bytes: whole.length, tail: rest < whole.length ? whole.subarray(rest) : null, gzipError: null };
  }
  const result = await splitGzipLines(compressed, (data, start, end) => void split(data, start, end));
  return { lines, ...result };
}

/** Upper bound of an object inflated in one piece (memory per scan thread). */
export const WHOLE_OBJECT_MAX_BYTES = 64 * 1024 * 1024;

function inflateWhole(compressed: Uint8Array): Buffer | null {
  if (compressed.byteLength < 18) return null; // not even one gzip member: let the stream report it
  // ISIZE (the last member's size mod 2^32) sizes the output chunk: usually one chunk, no joining.
  const tail = compressed.byteLength - 4;
  const isize = (compressed[tail]! | (compressed[tail + 1]! << 8) | (compressed[tail + 2]! << 16)) + compressed[tail + 3]! * 0x1000000;
  const chunkSize = Math.min(Math.max(isize + 1024, 64 * 1024), 8 * 1024 * 1024);
  try {
    return gunzipSync(compressed, { maxOutputLength: WHOLE_OBJECT_MAX_BYTES, chunkSize });
  } catch {
    return null; // damaged, or larger than the bound: the stream decides
  }
}

/**
 * Decompresses `compressed`, calling `onData(data, start, end)` with the complete lines of each
 * output chunk (`data[start, end)` ends with a newline); the rest is carried to the next chunk, and
 * what is left at the end is the tail.
 */
async function splitGzipLines(compressed: Uint8Array, onData: (data: Buffer, start: number, end: number) => void | Promise<void>): Promise<Omit<GzipLineBytesResult, 'lines'>> {
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  let carry: Buffer | null = null;
  let bytes = 0;
  let gzipError: Error | null = null;

  const done = new Promise<void>((resolve) => {
    gunzip.on('data', (chunk: Buffer) => {
      bytes += chunk.byteLength;
      const data: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
      const last = data.lastIndexOf(10);
      const complete = last + 1;
      carry = complete < data.byteLength ? data.subarray(complete) : null;
      if (carry && complete === 0 && data === chunk) carry = Buffer.from(carry); // detach from zlib's chunk
      if (complete > 0) {
        const pending = onData(data, 0, complete);
        if (pending) {
          gunzip.pause();
          const resume = () => void gunzip.resume();
          pending.then(resume, resume);
        }
      }
    });
    gunzip.on('error', (error) => {
      gzipError = error;
      resolve();
    });
    gunzip.on('end', () => resolve());
  });
  // Feed in slices so lines before a corrupt region are delivered before zlib reports the error.
  for (let offset = 0; offset < compressed.byteLength && !gzipError; offset += INPUT_SLICE_BYTES) {
    const slice = compressed.subarray(offset, Math.min(offset + INPUT_SLICE_BYTES, compressed.byteLength));
    if (!gunzip.write(slice)) {
      await new Promise<void>((resolve) => {
        const settle = () => {
          gunzip.off('drain', settle);
          gunzip.off('error', settle);
          resolve();
        };
        gunzip.on('drain', settle);
        gunzip.on('error', settle);
      });
    }
  }
  if (!gzipError) gunzip.end();
  await done;
  return { bytes, tail: carry, gzipError };
}
