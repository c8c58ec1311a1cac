import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../platform/logger.js';
import { syncDirectory, writeFileDurable } from '../../platform/atomic-file.js';
import type { ChangeStreamConsumer, ConsumedRecord, ShardLag } from '../change-stream.js';
import { StreamReadError, assertConsumerName } from '../stream-errors.js';
import type { LogLayout } from './log-layout.js';
import { readCheckpointOffset, type CheckpointFile } from './retention.js';
import { formatSequenceNumber, parseSequenceNumber } from './sequence-number.js';
import { ShardCursor } from './shard-cursor.js';
import type { FrameRecord } from './frame-codec.js';
import { AppendWatch } from './append-watch.js';
import { shardIdOf } from './shard-of-key.js';

export interface LocalLogConsumerOptions {
  shards: number;
  /** How often `read` looks for new records while waiting (fs.watch is unreliable). */
  pollIntervalMs: number;
  /** Cap on the data bytes one `read` returns (at least one record is always returned). */
  maxReadBytes: number;
}

/**
 * A named consumer of the local log. Its position per shard is the read cursor (after the records it
 * was last given) which starts at the durable checkpoint (+1); `rewind` moves the cursors back to
 * the checkpoints. Checkpoints are one small file per consumer per shard, replaced atomically, so
 * they survive kill -9. A consumer registers (creates its directory) on its first read; registered
 * consumers hold back retention of segments they have not checkpointed past.
 */
export class LocalLogConsumer implements ChangeStreamConsumer {
  private readonly readCursors: (ShardCursor | undefined)[];
  private readonly lagCursors: (ShardCursor | undefined)[];
  private readonly tailCursors: (ShardCursor | undefined)[];
  private readonly checkpoints: (number | undefined)[];
  private registered = false;
  private nextShard = 0;
  private closed = false;
  /** Wakes a waiting read when a shard is appended to (wakeOnAppend); undefined: polling alone. */
  private appendWatch: AppendWatch | undefined;

  constructor(
    private readonly layout: LogLayout,
    readonly consumerName: string,
    private readonly options: LocalLogConsumerOptions,
    private readonly logger: Logger,
  ) {
    assertConsumerName(consumerName);
    this.readCursors = new Array(options.shards).fill(undefined);
    this.lagCursors = new Array(options.shards).fill(undefined);
    this.tailCursors = new Array(options.shards).fill(undefined);
    this.checkpoints = new Array(options.shards).fill(undefined);
  }

  /**
   * A read that waits for records wakes as soon as a shard is appended to (fs.watch on the shards'
   * directories), not at its next poll: the stream processor's reads (`up`, `sync`), where the poll
   * (25 ms) was part of every change's latency. Polling goes on beside it (append-watch.ts), so a
   * missed event costs a poll interval. Not for every consumer: a reader that keeps up in small
   * reads (the archiver) would wake at every append instead of once a poll.
   */
  wakeOnAppend(): void {
    if (this.appendWatch || this.closed) return;
    this.appendWatch = new AppendWatch(Array.from({ length: this.options.shards }, (_, shard) => this.layout.shardDir(shard)));
  }

  async read(options: { maxRecords: number; waitMs: number; maxBytes?: number; signal?: AbortSignal }): Promise<ConsumedRecord[][]> {
    this.assertOpen();
    await this.register();
    const deadline = Date.now() + Math.max(0, options.waitMs);
    for (;;) {
      // Before reading: an append after this point ends the wait below at once.
      const generation = this.appendWatch?.generation ?? 0;
      const batch = await this.readOnce(Math.max(1, options.maxRecords), options.maxBytes ?? this.options.maxReadBytes);
      if (batch.length > 0) return batch;
      const remaining = deadline - Date.now();
      // An aborted wait returns at the next poll: a stopping processor does not sit out its maxWaitMs.
      if (remaining <= 0 || this.closed || options.signal?.aborted) return [];
      const pollMs = Math.min(this.options.pollIntervalMs, remaining);
      if (this.appendWatch) await this.appendWatch.wait(generation, pollMs, options.signal);
      else await sleep(pollMs);
    }
  }

  /** One pass over the shards, starting at a rotating shard so none starves. */
  private async readOnce(maxRecords: number, maxBytes: number): Promise<ConsumedRecord[][]> {
    const shards = this.options.shards;
    const perShard = Math.ceil(maxRecords / shards);
    let remainingRecords = maxRecords;
    let remainingBytes = maxBytes;
    const out: ConsumedRecord[][] = [];
    const first = this.nextShard;
    this.nextShard = (this.nextShard + 1) % shards;
    for (let i = 0; i < shards && remainingRecords > 0 && remainingBytes > 0; i++) {
      const shard = (first + i) % shards;
      const cursor = await this.readCursor(shard);
      const records = await cursor.take(Math.min(perShard, remainingRecords), remainingBytes);
      if (records.length === 0) continue;
      remainingRecords -= records.length;
      remainingBytes -= records.reduce((n, r) => n + r.data.length, 0);
      const shardId = shardIdOf(shard);
      out.push(records.map((record) => new LocalLogRecord(shardId, record)));
    }
    return out;
  }

  async checkpoint(shardId: string, sequenceNumber: string): Promise<void> {
    this.assertOpen();
    const shard = this.shardIndex(shardId);
    const offset = parseSequenceNumber(sequenceNumber);
    await this.register();
    const file: CheckpointFile = { sequenceNumber: formatSequenceNumber(offset), updatedAt: new Date().toISOString() };
    await writeFileDurable(this.layout.checkpointFile(this.consumerName, shard), JSON.stringify(file) + '\n');
    this.checkpoints[shard] = offset;
    // A checkpoint ahead of what was read (e.g. set by an operator tool) moves reading forward too.
    const cursor = this.readCursors[shard];
    if (cursor && cursor.nextOffset <= offset) await cursor.seek(offset + 1);
  }

  rewind(): void {
    for (let shard = 0; shard < this.readCursors.length; shard++) {
      const cursor = this.readCursors[shard];
      this.readCursors[shard] = undefined;
      cursor?.close().catch((error) => this.logger.warn('closing a stream log cursor failed', { shardId: shardIdOf(shard), error }));
    }
  }

  async lag(): Promise<ShardLag[]> {
    this.assertOpen();
    const now = Date.now();
    const out: ShardLag[] = [];
    for (let shard = 0; shard < this.options.shards; shard++) {
      // From the file, not this consumer's cache: a long-lived probe (sync's drain wait) must see
      // the checkpoints the consumer's owner writes. The cursors below then only move forward.
      const checkpoint = await readCheckpointOffset(this.layout, this.consumerName, shard);
      const endOffset = await this.endOffset(shard);
      // Checkpointed up to the end: nothing to look up (the lag cursor would decode the shard again
      // up to the checkpoint just to find no record there; sync's drain wait ends on this case).
      const oldest = checkpoint + 1 >= endOffset ? undefined : await this.oldestAfter(shard, checkpoint);
      out.push({
        shardId: shardIdOf(shard),
        records: oldest ? Math.max(0, endOffset - oldest.offset) : 0,
        ageMs: oldest ? Math.max(0, now - oldest.arrivalMs) : 0,
      });
    }
    return out;
  }

  /**
   * Records after each named consumer's checkpoint: a shard's offsets are dense, so the end offset
   * minus the checkpoint counts them, and each shard's end is found once for all the names. lag()
   * would also decode each shard up to the checkpoint for the oldest record's arrival, and a probe
   * per consumer would pass over the log to its end once each (sync's drain wait: three passes
   * over a first sync's log on the thread that loads, about 0.4 CPU-s). Retention never deletes
   * a shard's last segment, so a consumer behind always has a record left to read and checkpoint.
   * Finding a shard's end is a pass over its last segment (every frame's CRC checked) the first
   * time; with `end` (the writer's, when nobody appends after it) none is made.
   */
  async recordsBehind(consumerNames: readonly string[], end?: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    this.assertOpen();
    for (const name of consumerNames) assertConsumerName(name);
    const behind = new Map<string, number>(consumerNames.map((name) => [name, 0]));
    for (let shard = 0; shard < this.options.shards; shard++) {
      const endOffset = end?.get(shardIdOf(shard)) ?? (await this.endOffset(shard));
      for (const name of consumerNames) {
        const checkpoint = await readCheckpointOffset(this.layout, name, shard);
        behind.set(name, behind.get(name)! + Math.max(0, endOffset - (checkpoint + 1)));
      }
    }
    return behind;
  }

  /** The offset after the shard's last complete record; the tail cursor only moves forward. */
  private async endOffset(shard: number): Promise<number> {
    const tail = (this.tailCursors[shard] ??= new ShardCursor(this.layout, shard, this.logger));
    await tail.seek(Number.MAX_SAFE_INTEGER);
    return tail.nextOffset;
  }

  private async oldestAfter(shard: number, checkpoint: number) {
    const lagCursor = (this.lagCursors[shard] ??= new ShardCursor(this.layout, shard, this.logger));
    await lagCursor.seek(checkpoint + 1);
    return lagCursor.peek();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.appendWatch?.close();
    const cursors = [...this.readCursors, ...this.lagCursors, ...this.tailCursors];
    await Promise.all(cursors.map((c) => c?.close()));
  }

  private async readCursor(shard: number): Promise<ShardCursor> {
    let cursor = this.readCursors[shard];
    if (!cursor) {
      cursor = new ShardCursor(this.layout, shard, this.logger.child({ consumer: this.consumerName }));
      await cursor.seek((await this.checkpointOf(shard)) + 1);
      this.readCursors[shard] = cursor;
    }
    return cursor;
  }

  private async checkpointOf(shard: number): Promise<number> {
    return (this.checkpoints[shard] ??= await readCheckpointOffset(this.layout, this.consumerName, shard));
  }

  private async register(): Promise<void> {
    if (this.registered) return;
    const dir = this.layout.consumerDir(this.consumerName);
    try {
      await fs.mkdir(dir);
      await syncDirectory(this.layout.consumersDir);
      this.logger.info('registered stream log consumer', { consumer: this.consumerName });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        await fs.mkdir(this.layout.consumersDir, { recursive: true });
        return this.register();
      }
      if (code !== 'EEXIST') throw error;
    }
    this.registered = true;
  }

  private shardIndex(shardId: string): number {
    const match = /^shardId-(\d{12})$/.exec(shardId);
    const shard = match ? Number(match[1]) : -1;
    if (shard < 0 || shard >= this.options.shards) throw new StreamReadError(`unknown shard ${shardId}`, shardId, { retryable: false });
    return shard;
  }

  private assertOpen(): void {
    if (this.closed) throw new StreamReadError(`consumer ${this.consumerName} is closed`, undefined, { retryable: false });
  }
}

/**
 * A record as the consumer hands it out. The sequence number and partition key are made when read:
 * the stream processor reads the sequence number of a shard's last record of a batch only (its
 * checkpoint) and the partition key never, and two strings made per record were a tenth of its
 * reading time.
 */
class LocalLogRecord implements ConsumedRecord {
  readonly data: Uint8Array;
  readonly arrivalMs: number;
  constructor(
    readonly shardId: string,
    private readonly frame: FrameRecord,
  ) {
    this.data = frame.data;
    this.arrivalMs = frame.arrivalMs;
  }

  get sequenceNumber(): string {
    return formatSequenceNumber(this.frame.offset);
  }

  get partitionKey(): string {
    return this.frame.partitionKey;
  }
}
