import { createGunzip } from 'node:zlib';

/**
 * Splits a GZIP NDJSON object into lines while decompressing in chunks (memory bounded by the
 * largest line plus zlib's window, not by the uncompressed size). Concatenated GZIP members, which
 * Firehose and `cat a.gz b.gz` produce, read as one stream.
 *
 * Never throws: a corrupt or truncated stream ends the lines and reports `gzipError`; the text after
 * the last newline is reported as `tail` (a truncated line, or a last record without a delimiter).
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
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  let carry: Buffer | null = null;
  let lines = 0;
  let bytes = 0;
  let gzipError: Error | null = null;

  const done = new Promise<void>((resolve) => {
    gunzip.on('data', (chunk: Buffer) => {
      bytes += chunk.byteLength;
      const data: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
      const out: string[] = [];
      let start = 0;
      for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
        out.push(data.toString('utf8', start, nl));
        start = nl + 1;
      }
      carry = start < data.byteLength ? data.subarray(start) : null;
      if (carry && start === 0 && data === chunk) carry = Buffer.from(carry); // detach from zlib's chunk
      if (out.length > 0) {
        const first = lines + 1;
        lines += out.length;
        const pending = onLines(out, first);
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
  const tail = carry ? (carry as Buffer).toString('utf8') : null;
  return { lines, bytes, tail, gzipError };
}
