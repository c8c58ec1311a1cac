import fs from 'node:fs/promises';
import type { Logger } from '../../platform/logger.js';
import { syncDirectory } from '../../platform/atomic-file.js';
import type { ChangeStreamWriter, StreamRecord } from '../change-stream.js';
import { RecordRejectedError, StreamWriteError } from '../stream-errors.js';
import { MAX_PARTITION_KEY_CHARS, MAX_RECORD_BYTES, encodeFrameWithKeyText, encodedFrameBytes } from './frame-codec.js';
import type { LogLayout } from './log-layout.js';
import { SegmentReader } from './segment-reader.js';
import { shardIdOf, shardIndexOfKey } from './shard-of-key.js';
import type { WriterLock } from './writer-lock.js';

/** The writable end of one shard: its last segment, open for appending. */
interface ShardTail {
  shard: number;
  handle: fs.FileHandle | undefined;
  segmentBase: number;
  /** Bytes of complete frames in the last segment = where the next frame goes. */
  size: number;
  /** Offset the next appended record gets. */
  nextOffset: number;
}

export interface LocalLogWriterOptions {
  shards: number;
  segmentBytes: number;
  /** Called after a segment was rolled (retention may now delete old ones). */
  onSegmentRolled?: () => void;
  /** Called by `close` after the last append, before the files and the lock are released. */
  onClose?: () => Promise<void>;
}

/**
 * Appends records to the shards' last segments. Invariants:
 * 1. `put` resolves only after every touched shard's segment was fsynced (per batch, not per record;
 *    the shards' writes and fsyncs run concurrently).
 * 2. Records of one `put` keep their array order inside each shard, and `put` calls are serialized,
 *    so a key's records are stored in the order the `put` calls resolved.
 * 3. On open, bytes after the last complete, CRC-valid frame of a shard's last segment (a torn
 *    append of a killed writer) are truncated before anything is appended.
 * 4. A segment is only rolled between batches, after it was fsynced, so a reader that finds the next
 *    segment knows the previous one is complete.
 */
export class LocalLogWriter implements ChangeStreamWriter {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly layout: LogLayout,
    private readonly lock: WriterLock,
    private readonly tails: ShardTail[],
    private readonly options: LocalLogWriterOptions,
    private readonly logger: Logger,
  ) {}

  static async open(layout: LogLayout, lock: WriterLock, options: LocalLogWriterOptions, logger: Logger): Promise<LocalLogWriter> {
    const tails: ShardTail[] = [];
    try {
      for (let shard = 0; shard < options.shards; shard++) tails.push(await recoverTail(layout, shard, logger));
    } catch (error) {
      await Promise.all(tails.map((t) => t.handle?.close()));
      throw error;
    }
    return new LocalLogWriter(layout, lock, tails, options, logger);
  }

  /** Each shard's next offset: after close, the log's end while nobody else opens a writer. */
  end(): ReadonlyMap<string, number> {
    return new Map(this.tails.map((tail) => [shardIdOf(tail.shard), tail.nextOffset]));
  }

  put(records: readonly StreamRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new StreamWriteError('the stream writer is closed', undefined, { retryable: false }));
    // Validate the whole batch before writing any of it: a poison record is a permanent error.
    for (const record of records) validateRecord(record);
    const run = this.queue.then(() => this.append(records));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async append(records: readonly StreamRecord[]): Promise<void> {
    if (records.length === 0) return;
    const arrivalMs = Date.now();
    const shards = this.options.shards;
    // Per record: its shard and key length; per shard: its records (in batch order) and frame bytes.
    const shardOf = new Uint32Array(records.length);
    const keyBytes = new Uint32Array(records.length);
    const frameBytes = new Array<number>(shards).fill(0);
    const counts = new Array<number>(shards).fill(0);
    const order: number[] = []; // shards in order of first appearance
    for (let i = 0; i < records.length; i++) {
      const { partitionKey, data } = records[i];
      const shard = shardIndexOfKey(partitionKey, shards);
      shardOf[i] = shard;
      keyBytes[i] = Buffer.byteLength(partitionKey, 'utf8');
      if (counts[shard]++ === 0) order.push(shard);
      frameBytes[shard] += encodedFrameBytes(keyBytes[i], data.length);
    }
    const touched: { tail: ShardTail; bytes: number; count: number }[] = [];
    try {
      const writes: { tail: ShardTail; frames: Buffer }[] = [];
      for (const shard of order) {
        const tail = this.tails[shard];
        if (!tail.handle || tail.size >= this.options.segmentBytes) await this.roll(tail);
        const frames = Buffer.allocUnsafe(frameBytes[shard]);
        let position = 0;
        let offset = tail.nextOffset;
        for (let i = 0; i < records.length; i++) {
          if (shardOf[i] !== shard) continue;
          position = encodeFrameWithKeyText(frames, position, offset++, arrivalMs, records[i].partitionKey, keyBytes[i], records[i].data);
        }
        writes.push({ tail, frames });
        touched.push({ tail, bytes: frames.length, count: counts[shard] });
      }
      // Shards are separate files: write and fsync them concurrently. Every one must settle before
      // a failure is handled, so recovery never races an append still in flight.
      const results = await Promise.allSettled(
        writes.map(async ({ tail, frames }) => {
          await writeFully(tail.handle!, frames, tail.size);
          await tail.handle!.sync();
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (cause) {
      // What reached the file is unknown: re-read the tails from disk (keeping complete frames, which
      // readers may already have seen, truncating a torn one) so offsets stay consistent.
      for (const shard of order) {
        await this.tails[shard].handle?.close().catch(() => undefined);
        this.tails[shard] = await recoverTail(this.layout, shard, this.logger).catch(() => this.tails[shard]);
      }
      throw new StreamWriteError(`appending to the stream log failed: ${(cause as Error).message}`, undefined, { retryable: true, cause });
    }
    for (const { tail, bytes, count } of touched) {
      tail.size += bytes;
      tail.nextOffset += count;
    }
  }

  /** Starts a new segment at the shard's next offset (the first one, or after a full one). */
  private async roll(tail: ShardTail): Promise<void> {
    const hadSegment = tail.handle !== undefined;
    if (tail.handle) {
      await tail.handle.sync();
      await tail.handle.close();
      tail.handle = undefined;
    }
    const dir = this.layout.shardDir(tail.shard);
    await fs.mkdir(dir, { recursive: true });
    const file = this.layout.segmentFile(tail.shard, tail.nextOffset);
    tail.handle = await fs.open(file, 'wx');
    tail.segmentBase = tail.nextOffset;
    tail.size = 0;
    // The new file's directory entry must be durable before a record in it is acknowledged.
    await syncDirectory(dir);
    if (hadSegment) {
      this.logger.info('rolled stream log segment', { shardId: shardIdOf(tail.shard), baseOffset: tail.nextOffset });
      this.options.onSegmentRolled?.();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.options.onClose?.();
    await Promise.all(this.tails.map((t) => t.handle?.close()));
    await this.lock.release();
  }
}

function validateRecord(record: StreamRecord): void {
  const key = record.partitionKey;
  if (typeof key !== 'string' || key.length < 1 || key.length > MAX_PARTITION_KEY_CHARS) {
    throw new RecordRejectedError(`partition key must be 1-${MAX_PARTITION_KEY_CHARS} characters: ${JSON.stringify(String(key).slice(0, 300))}`, String(key));
  }
  const size = Buffer.byteLength(key, 'utf8') + record.data.length;
  if (size > MAX_RECORD_BYTES) {
    throw new RecordRejectedError(`record of partition key ${key} is ${size} bytes, more than the ${MAX_RECORD_BYTES} bytes a stream record may hold`, key);
  }
}

async function writeFully(handle: fs.FileHandle, buffer: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, written, buffer.length - written, position + written);
    written += bytesWritten;
  }
}

/**
 * Opens a shard's last segment and finds where its complete frames end; truncates anything after
 * (invariant 3). An empty shard gets its first segment on the first append.
 */
async function recoverTail(layout: LogLayout, shard: number, logger: Logger): Promise<ShardTail> {
  const bases = await layout.segmentBases(shard);
  const base = bases.at(-1);
  if (base === undefined) return { shard, handle: undefined, segmentBase: 0, size: 0, nextOffset: 0 };
  const file = layout.segmentFile(shard, base);
  const handle = await fs.open(file, 'r+');
  try {
    const reader = new SegmentReader(handle, 0);
    let nextOffset = base;
    for (;;) {
      // Buffered frames are checked (length, CRC, offset) without building a record each; next()
      // reads on, and says what ends the valid frames.
      if (reader.skipBuffered(nextOffset)) {
        nextOffset++;
        continue;
      }
      const result = await reader.next();
      if (result.kind !== 'frame' || result.record.offset !== nextOffset) break;
      nextOffset++;
    }
    const { size } = await handle.stat();
    if (size > reader.position) {
      logger.warn('truncating a torn tail of the stream log', { shardId: shardIdOf(shard), segment: file, validBytes: reader.position, truncatedBytes: size - reader.position });
      await handle.truncate(reader.position);
      await handle.sync();
    }
    return { shard, handle, segmentBase: base, size: reader.position, nextOffset };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
