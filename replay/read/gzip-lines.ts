import { createGunzip, gunzipSync } from 'node:zlib';

/**
 * Splits a GZIP NDJSON object into lines while decompressing in chunks (memory bounded by the
 * largest line plus zlib's window, not by the uncompressed size). Concatenated GZIP members, which
 * Firehose and `cat a.gz b.gz` produce, read as one stream.
 *
 * Never throws: a corrupt or truncated stream ends the lines and reports `gzipError`; the text after
 * the last newline is reported as `tail` (a truncated line, or a last record without a delimiter).
 * forEachGzipLine hands out strings; forEachGzipLineBytes (the replay scan) byte ranges.
 *
 * The input is untrusted (see SECURITY.md): a line longer than `maxLineBytes` (a gzip bomb without a
 * newline) stops the object with `lineError` (its line number and byte position) instead of growing
 * a buffer without end. A partial line is carried as a list of chunks and joined once, when its
 * newline arrives: linear in the line's length (joining at every chunk was quadratic).
 */
export interface GzipLinesResult {
  /** Complete (newline-terminated) lines delivered. */
  lines: number;
  /** Uncompressed bytes. */
  bytes: number;
  /** Text after the last newline, if any. */
  tail: string | null;
  gzipError: Error | null;
  /** A line over the bound: no line from it on was delivered. */
  lineError: LineTooLongError | null;
}

export interface GzipLinesOptions {
  /** Longest line accepted, newline excluded (default DEFAULT_MAX_LINE_BYTES). */
  maxLineBytes?: number;
}

/** Default bound on one archived line: an event is a few KB; 8 MiB leaves room for huge text values. */
export const DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024;

export class LineTooLongError extends Error {
  readonly retryable = false;
  constructor(
    /** 1-based number of the long line. */
    readonly line: number,
    /** Offset of its first byte in the decompressed object. */
    readonly byteOffset: number,
    readonly maxLineBytes: number,
  ) {
    super(`line ${line} (starting at decompressed byte ${byteOffset}) is longer than ${maxLineBytes} bytes (raise TOTESYS_MAX_LINE_BYTES to read it)`);
    this.name = 'LineTooLongError';
  }
}

const INPUT_SLICE_BYTES = 64 * 1024;

/**
 * `onLines` may return a promise (backpressure): decompression pauses until it settles. Its
 * rejection is the caller's to observe; the lines go on either way.
 */
export async function forEachGzipLine(
  compressed: Uint8Array,
  onLines: (lines: string[], firstLineNumber: number) => void | Promise<void>,
  options: GzipLinesOptions = {},
): Promise<GzipLinesResult> {
  let lines = 0;
  const result = await splitGzipLines(compressed, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, () => lines, (data, start, end) => {
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
  return { lines, bytes: result.bytes, tail: result.tail === null ? null : result.tail.toString('utf8'), gzipError: result.gzipError, lineError: result.lineError };
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
export async function forEachGzipLineBytes(
  compressed: Uint8Array,
  onLine: (data: Buffer, start: number, end: number, lineNumber: number) => void,
  options: GzipLinesOptions = {},
): Promise<GzipLineBytesResult> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
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
    // The same bound as the stream: lines up to the first long one, then the error.
    let start = 0;
    for (let nl = whole.indexOf(10, start); ; nl = whole.indexOf(10, start)) {
      const end = nl === -1 ? whole.length : nl;
      if (end - start > maxLineBytes) return { lines, bytes: whole.length, tail: null, gzipError: null, lineError: new LineTooLongError(lines + 1, start, maxLineBytes) };
      if (nl === -1) break;
      onLine(whole, start, nl, ++lines);
      start = nl + 1;
    }
    return { lines, bytes: whole.length, tail: start < whole.length ? whole.subarray(start) : null, gzipError: null, lineError: null };
  }
  const result = await splitGzipLines(compressed, maxLineBytes, () => lines, (data, start, end) => void split(data, start, end));
  return { lines, ...result };
}

/** Upper bound of an object inflated in one piece (memory per scan thread). */
const WHOLE_OBJECT_MAX_BYTES = 64 * 1024 * 1024;

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
 * Decompresses `compressed`, calling `onData(data, start, end)` with complete lines (`data[start,
 * end)` ends with a newline). A partial line is carried as chunks and joined once its newline
 * arrives; what is left at the end is the tail. `linesSoFar` numbers the long line in lineError.
 */
async function splitGzipLines(
  compressed: Uint8Array,
  maxLineBytes: number,
  linesSoFar: () => number,
  onData: (data: Buffer, start: number, end: number) => void | Promise<void>,
): Promise<Omit<GzipLineBytesResult, 'lines'>> {
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  /** The partial line: chunks (copies, not zlib's buffers), their total length, its first byte's offset. */
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let bytes = 0;
  let gzipError: Error | null = null;
  let lineError: LineTooLongError | null = null;
  let finish: () => void = () => undefined;

  const done = new Promise<void>((resolve) => {
    finish = resolve;
    gunzip.on('data', (chunk: Buffer) => {
      if (lineError) return;
      const chunkOffset = bytes;
      bytes += chunk.byteLength;
      const pending: Promise<void>[] = [];
      const deliver = (data: Buffer, start: number, end: number) => {
        const result = onData(data, start, end);
        if (result) pending.push(result);
      };
      let start = 0;
      if (carryBytes > 0) {
        const nl = chunk.indexOf(10);
        if (nl === -1) {
          carry.push(Buffer.from(chunk));
          carryBytes += chunk.byteLength;
          if (carryBytes > maxLineBytes) return tooLong(chunkOffset + chunk.byteLength - carryBytes);
          return;
        }
        if (carryBytes + nl > maxLineBytes) return tooLong(chunkOffset - carryBytes);
        const line = Buffer.concat([...carry, chunk.subarray(0, nl + 1)], carryBytes + nl + 1);
        carry = [];
        carryBytes = 0;
        deliver(line, 0, line.byteLength);
        start = nl + 1;
      }
      const last = chunk.lastIndexOf(10);
      const complete = last + 1;
      if (complete > start) {
        // Lines wholly inside this chunk are at most one chunk long: check only when the bound is lower.
        if (maxLineBytes < chunk.byteLength) {
          for (let from = start, nl = chunk.indexOf(10, from); nl !== -1 && nl < complete; from = nl + 1, nl = chunk.indexOf(10, from)) {
            if (nl - from > maxLineBytes) {
              if (from > start) deliver(chunk, start, from);
              return tooLong(chunkOffset + from);
            }
          }
        }
        deliver(chunk, start, complete);
      }
      const rest = Math.max(start, complete);
      if (rest < chunk.byteLength) {
        carry.push(Buffer.from(chunk.subarray(rest))); // a copy: zlib's chunk is not kept alive
        carryBytes += chunk.byteLength - rest;
        if (carryBytes > maxLineBytes) return tooLong(chunkOffset + rest);
      }
      if (pending.length > 0) {
        gunzip.pause();
        const resume = () => void gunzip.resume();
        Promise.all(pending).then(resume, resume);
      }
    });
    gunzip.on('error', (error) => {
      gzipError ??= error;
      resolve();
    });
    gunzip.on('end', () => resolve());
  });
  function tooLong(byteOffset: number): void {
    // Every line before it was delivered (synchronously counted): it is the next one.
    lineError = new LineTooLongError(linesSoFar() + 1, byteOffset, maxLineBytes);
    carry = [];
    carryBytes = 0;
    gunzip.pause();
    finish();
  }
  // Feed in slices so lines before a corrupt region are delivered before zlib reports the error.
  for (let offset = 0; offset < compressed.byteLength && !gzipError && !lineError; offset += INPUT_SLICE_BYTES) {
    const slice = compressed.subarray(offset, Math.min(offset + INPUT_SLICE_BYTES, compressed.byteLength));
    if (!gunzip.write(slice)) {
      await Promise.race([
        done,
        new Promise<void>((resolve) => {
          const settle = () => {
            gunzip.off('drain', settle);
            gunzip.off('error', settle);
            resolve();
          };
          gunzip.on('drain', settle);
          gunzip.on('error', settle);
        }),
      ]);
    }
  }
  if (lineError) gunzip.destroy();
  else if (!gzipError) gunzip.end();
  await done;
  return { bytes, tail: lineError || carryBytes === 0 ? null : Buffer.concat(carry, carryBytes), gzipError, lineError };
}

