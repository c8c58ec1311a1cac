import type { FileHandle } from 'node:fs/promises';
import { decodeFrameAt, type DecodeResult } from './frame-codec.js';

const CHUNK_BYTES = 256 * 1024;

/**
 * Reads frames of one segment file sequentially from `position`, through a reused buffer, so memory
 * stays bounded by the chunk size (or one frame, whichever is larger) whatever the segment's size.
 * `next()` only advances past complete frames with a valid CRC; at an incomplete or invalid tail it
 * stays put, so calling it again later picks up the frame once the writer has finished it.
 */
export class SegmentReader {
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  /** File position of buffer[0] and number of valid bytes in the buffer. */
  private bufferStart = 0;
  private bufferLength = 0;

  constructor(
    readonly handle: FileHandle,
    public position: number,
  ) {}

  async next(): Promise<DecodeResult> {
    let result = this.decodeBuffered();
    if (result.kind === 'frame') return this.advance(result);
    // Re-read from the file: the frame may have been completed since, or only partly buffered.
    const wanted = Math.max(CHUNK_BYTES, result.kind === 'incomplete' ? result.neededBytes : 0);
    if (this.buffer.length < wanted) this.buffer = Buffer.allocUnsafe(wanted);
    const { bytesRead } = await this.handle.read(this.buffer, 0, this.buffer.length, this.position);
    this.bufferStart = this.position;
    this.bufferLength = bytesRead;
    result = this.decodeBuffered();
    return result.kind === 'frame' ? this.advance(result) : result;
  }

  /** Drops buffered bytes (after a truncation by the writer, buffered bytes may be stale). */
  reset(position: number): void {
    this.position = position;
    this.bufferLength = 0;
  }

  private decodeBuffered(): DecodeResult {
    const at = this.position - this.bufferStart;
    if (at < 0 || at > this.bufferLength) return { kind: 'incomplete', neededBytes: 0 };
    return decodeFrameAt(this.buffer, at, this.bufferLength);
  }

  private advance(result: Extract<DecodeResult, { kind: 'frame' }>): DecodeResult {
    this.position += result.frameBytes;
    return result;
  }
}
