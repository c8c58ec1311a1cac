import type { FileHandle } from 'node:fs/promises';
import { decodeFrameAt, frameBytesAt, frameRecordAt, validFrameBytesAt, type DecodeResult, type FrameRecord } from './frame-codec.js';

const CHUNK_BYTES = 256 * 1024;

/**
 * Reads frames of one segment file sequentially from `position`, through a chunk buffer, so memory
 * stays bounded by the chunk size (or one frame, whichever is larger) whatever the segment's size,
 * plus the chunks that records handed out still reference. A record's `data` is a view of its
 * chunk, never a copy: a chunk is never written again once a record from it was handed out (the
 * next read goes to a new chunk), and one that handed nothing out (a poll at the tail) is reused.
 * (A copy per record was an ArrayBuffer, malloc'd and tracked by the GC, per record: a fifth of the
 * stream processor's read time.)
 * `next()` only advances past complete frames with a valid CRC; at an incomplete or invalid tail it
 * stays put, so calling it again later picks up the frame once the writer has finished it.
 */
export class SegmentReader {
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  /** File position of buffer[0] and number of valid bytes in the buffer. */
  private bufferStart = 0;
  private bufferLength = 0;
  /** A frame decoded from `buffer` was handed out: its data is a view of it, so it is never refilled. */
  private bufferShared = false;

  constructor(
    readonly handle: FileHandle,
    public position: number,
  ) {}

  async next(): Promise<DecodeResult> {
    const result = this.decodeBuffered();
    if (result.kind === 'frame') return this.advance(result);
    return this.refill(result);
  }

  /**
   * The next record when its frame is already buffered (advancing past it), else undefined: then
   * `next()` reads. The cursor's loop takes most records this way: no promise, no result object and
   * no key text per record (frame-codec.ts frameRecordAt).
   */
  nextRecordBuffered(): FrameRecord | undefined {
    const at = this.position - this.bufferStart;
    if (at < 0 || at > this.bufferLength) return undefined;
    const record = frameRecordAt(this.buffer, at, this.bufferLength);
    if (!record) return undefined;
    this.position += frameBytesAt(this.buffer, at);
    this.bufferShared = true;
    return record;
  }

  /**
   * Skips the next frame when it is buffered, valid and holds record `expectedOffset` (true), without
   * building its record; else false, and `next()` says what is there (and reads).
   */
  skipBuffered(expectedOffset: number): boolean {
    const at = this.position - this.bufferStart;
    if (at < 0 || at > this.bufferLength) return false;
    const frameBytes = validFrameBytesAt(this.buffer, at, this.bufferLength, expectedOffset);
    if (frameBytes === 0) return false;
    this.position += frameBytes;
    return true;
  }

  private async refill(result: DecodeResult): Promise<DecodeResult> {
    // Re-read from the file: the frame may have been completed since, or only partly buffered. A
    // frame larger than the chunk is read again at once with a buffer that holds it.
    for (let attempt = 0; attempt < 2; attempt++) {
      const wanted = Math.max(CHUNK_BYTES, result.kind === 'incomplete' ? result.neededBytes : 0);
      if (this.bufferShared || this.buffer.length < wanted) {
        this.buffer = Buffer.allocUnsafe(wanted);
        this.bufferShared = false;
      }
      const { bytesRead } = await this.handle.read(this.buffer, 0, this.buffer.length, this.position);
      this.bufferStart = this.position;
      this.bufferLength = bytesRead;
      result = this.decodeBuffered();
      if (result.kind === 'frame') return this.advance(result);
      if (!(result.kind === 'incomplete' && result.neededBytes > bytesRead && bytesRead === this.buffer.length)) break;
    }
    return result;
  }

  /** Drops buffered bytes (after a truncation by the writer, buffered bytes may be stale). */
  reset(position: number): void {
    this.position = position;
    this.bufferLength = 0;
  }

  private decodeBuffered(): DecodeResult {
    const at = this.position - this.bufferStart;
    if (at < 0 || at > this.bufferLength) return { kind: 'incomplete', neededBytes: 0 };
    return decodeFrameAt(this.buffer, at, this.bufferLength, false);
  }

  private advance(result: Extract<DecodeResult, { kind: 'frame' }>): Extract<DecodeResult, { kind: 'frame' }> {
    this.position += result.frameBytes;
    this.bufferShared = true;
    return result;
  }
}
