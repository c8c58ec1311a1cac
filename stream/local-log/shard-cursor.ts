import fs from 'node:fs/promises';
import type { Logger } from '../../platform/logger.js';
import { StreamReadError } from '../stream-errors.js';
import type { FrameRecord } from './frame-codec.js';
import type { LogLayout } from './log-layout.js';
import { SegmentReader } from './segment-reader.js';
import { shardIdOf } from './shard-of-key.js';

/**
 * A read position in one shard: the offset of the next record and where its frame starts. Works in
 * any process (readers never take the writer lock): it only ever returns complete frames with a
 * valid CRC and waits at an incomplete tail. It moves to the next segment only when that segment's
 * base offset equals its next offset, i.e. when the current segment is known to be complete.
 */
export class ShardCursor {
  private reader: SegmentReader | undefined;
  private segmentBase = -1;
  /** Offset of the next record to return. */
  nextOffset = 0;

  constructor(
    private readonly layout: LogLayout,
    readonly shard: number,
    private readonly logger: Logger,
  ) {}

  get shardId(): string {
    return shardIdOf(this.shard);
  }

  /**
   * Positions the cursor at `offset` (or at the end of the shard when it has fewer records; or at the
   * oldest retained record when `offset` was already deleted by retention).
   */
  async seek(offset: number): Promise<void> {
    if (!(this.reader && this.segmentBase <= offset && this.nextOffset <= offset)) {
      await this.closeReader();
      this.nextOffset = offset;
      if (!(await this.openNextSegment())) return;
    }
    await this.skipTo(offset);
  }

  private async skipTo(offset: number): Promise<void> {
    while (this.nextOffset < offset) {
      const skipped = await this.read(Math.min(offset - this.nextOffset, 10_000), Number.POSITIVE_INFINITY, false);
      if (skipped === 0) break;
    }
  }

  /** Up to `maxRecords` records (and about `maxBytes` of data, at least one record), advancing. */
  async take(maxRecords: number, maxBytes: number): Promise<FrameRecord[]> {
    const out: FrameRecord[] = [];
    await this.read(maxRecords, maxBytes, true, out);
    return out;
  }

  /** The next record without advancing, or undefined at the end. */
  async peek(): Promise<FrameRecord | undefined> {
    if (!this.reader && !(await this.openNextSegment())) return undefined;
    const savedPosition = this.reader!.position;
    const savedOffset = this.nextOffset;
    const savedBase = this.segmentBase;
    const [record] = await this.take(1, Number.POSITIVE_INFINITY);
    if (record && this.segmentBase === savedBase) {
      this.reader!.reset(savedPosition);
      this.nextOffset = savedOffset;
    } else if (record) {
      await this.seek(savedOffset);
    }
    return record;
  }

  private async read(maxRecords: number, maxBytes: number, collect: boolean, out: FrameRecord[] = []): Promise<number> {
    let count = 0;
    let bytes = 0;
    while (count < maxRecords && bytes < maxBytes) {
      if (!this.reader && !(await this.openNextSegment())) break;
      if (!collect && this.reader!.skipBuffered(this.nextOffset)) {
        this.nextOffset++;
        count++;
        continue;
      }
      // Most records are buffered: taken without a promise (or a result object) each.
      let record = this.reader!.nextRecordBuffered();
      if (!record) {
        const result = await this.reader!.next();
        if (result.kind === 'frame') record = result.record;
      }
      if (record) {
        if (record.offset !== this.nextOffset) {
          throw new StreamReadError(
            `corrupt segment ${this.layout.segmentFile(this.shard, this.segmentBase)}: expected record ${this.nextOffset}, found ${record.offset}`,
            this.shardId,
            { retryable: false },
          );
        }
        this.nextOffset++;
        count++;
        bytes += record.data.length;
        if (collect) out.push(record);
        continue;
      }
      // Incomplete or invalid bytes at the end: either the writer is mid-append (wait), or this
      // segment is finished and the writer rolled to the next one.
      if (!(await this.openNextSegment())) break;
    }
    return count;
  }

  /**
   * Opens the segment holding `nextOffset`: with no segment open, the one containing it; at the end
   * of the open segment, the one starting exactly at `nextOffset`. True when the cursor moved.
   */
  private async openNextSegment(): Promise<boolean> {
    const bases = await this.layout.segmentBases(this.shard);
    if (bases.length === 0) return false;
    const target = this.nextOffset;
    if (bases[0] > target) {
      // Retention deleted records this cursor had not reached (max retention, like Kinesis).
      this.warnExpired(target, bases[0]);
      await this.openSegment(bases[0]);
      return true;
    }
    if (this.reader) {
      if (target === this.segmentBase || !bases.includes(target)) return false;
      await this.openSegment(target);
      return true;
    }
    const base = [...bases].reverse().find((b) => b <= target)!;
    await this.openSegment(base);
    await this.skipTo(target);
    return true;
  }

  private async openSegment(base: number): Promise<void> {
    await this.closeReader();
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.layout.segmentFile(this.shard, base), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // Deleted by retention between listing and opening: continue at the oldest segment.
      const bases = await this.layout.segmentBases(this.shard);
      if (bases.length === 0 || bases[0] <= base) throw error;
      this.warnExpired(base, bases[0]);
      return this.openSegment(bases[0]);
    }
    this.reader = new SegmentReader(handle, 0);
    this.segmentBase = base;
    this.nextOffset = base;
  }

  private warnExpired(wantedOffset: number, oldestOffset: number): void {
    this.logger.warn('records expired from the stream log before this consumer read them', {
      shardId: this.shardId,
      wantedOffset,
      oldestRetainedOffset: oldestOffset,
      lostRecords: oldestOffset - wantedOffset,
    });
  }

  private async closeReader(): Promise<void> {
    const reader = this.reader;
    this.reader = undefined;
    this.segmentBase = -1;
    await reader?.handle.close();
  }

  async close(): Promise<void> {
    await this.closeReader();
  }
}
