import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import type { ObjectStore } from '../bucket/object-store.js';
import { PipelineError, errorMessage } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { METRIC } from '../platform/metrics.js';
import type { ChangeStreamConsumer, ConsumedRecord } from '../stream/change-stream.js';
import { changeObjectKey, errorObjectKey, errorRecordLine, hourStartMs, routeRecord, type ArchivePartitionName } from './archive-layout.js';

const NEWLINE = 0x0a;
/**
 * GZIP level of archive bodies. On 5 MiB bodies of a real catch-up's records (105 MB), level 3
 * (zlib's fast deflate) took 0.36 CPU-s against the default level 6's 0.81, for objects 16% larger
 * (ratio 10.4 against 12.0; docs/performance-processor.md, round four). Any gunzip reads either.
 */
export const ARCHIVE_GZIP_LEVEL = 3;
/** A buffer's body is built in blocks of this size (the last one partly filled). */
const BLOCK_BYTES = 256 * 1024;
/**
 * Blocks of written bodies kept for the next ones (a body of maxBytes' default 5 MiB is 20): a new
 * block is fresh memory from the kernel, and its page faults cost more than copying into it.
 */
const MAX_SPARE_BLOCKS = 24;

/**
 * The local stand-in for Firehose: consumes the change stream as its own consumer and writes the
 * archive layout of archive-layout.ts, buffering per (table, arrival hour) until `maxBytes` of
 * uncompressed NDJSON or `flushIntervalMs` since the buffer's first record, whichever comes first.
 *
 * Checkpoint invariant: a shard is checkpointed at sequence number N only after every object that
 * holds any of that shard's records up to N is durable in the ingestion bucket. A crash therefore
 * re-delivers (and may re-archive, in other objects) records already archived: duplicates across
 * files, never loss. Replay dedupes by event id.
 */
export interface ArchiverOptions {
  consumer: ChangeStreamConsumer;
  ingestion: ObjectStore;
  /** Firehose-like buffering time, measured from a buffer's first record. */
  flushIntervalMs: number;
  /** Firehose-like buffering size: uncompressed bytes of one buffer. */
  maxBytes: number;
  logger: Logger;
  signal: AbortSignal;
  /** Records per read (default 1000). */
  maxRecordsPerRead?: number;
  /** Attempts per object write before the archiver gives up (default 5). */
  writeAttempts?: number;
  /** Called after each durable object (metrics, tests). */
  onFlush?: (flush: ArchiveFlush) => void;
  /** Clock (tests). */
  now?: () => number;
}

export interface ArchiveFlush {
  key: string;
  records: number;
  bytes: number;
  compressedBytes: number;
  reason: 'size' | 'time' | 'shutdown';
}

export interface ArchiverSummary {
  records: number;
  errorRecords: number;
  objects: number;
}

export class ArchiveWriteError extends PipelineError {
  constructor(
    readonly key: string,
    options: { cause: unknown },
  ) {
    super(`could not write archive object ${key}: ${errorMessage(options.cause)}`, { retryable: true, cause: options.cause });
  }
}

interface Buffered {
  /** Partition identity: `<table>@<hourStartMs>` or `errors@<hourStartMs>`. */
  id: string;
  table: ArchivePartitionName | null;
  hourStartMs: number;
  /** The body so far: full blocks, then the last one's first `bytes - (blocks.length - 1) * BLOCK_BYTES` bytes. */
  blocks: Buffer[];
  bytes: number;
  records: number;
  firstArrivalMs: number;
  openedAtMs: number;
  durable: boolean;
}

/**
 * Consecutive records of one shard that went to one buffer: checkpointable together once it is
 * durable. Only the shard's last run holds its last record; its sequence number is spelled when a
 * run ends or is checkpointed, not for every record (one string per record was most of the
 * archiver's garbage in a snapshot, where a table's records come in long runs).
 */
interface PendingRun {
  buffer: Buffered;
  /** The run's last sequence number, once the run has ended. */
  sequenceNumber?: string;
  /** While the run may grow: its last record. */
  last?: ConsumedRecord;
}

export async function runArchiver(options: ArchiverOptions): Promise<ArchiverSummary> {
  const { consumer, ingestion, flushIntervalMs, maxBytes, signal } = options;
  const logger = options.logger.child({ component: 'archiver', consumer: consumer.consumerName });
  const now = options.now ?? Date.now;
  const maxRecords = options.maxRecordsPerRead ?? 1000;
  const attempts = options.writeAttempts ?? 5;
  const open = new Map<string, Buffered>();
  /** Per shard, the runs of records not yet checkpointed, in sequence order. */
  const pending = new Map<string, PendingRun[]>();
  const summary: ArchiverSummary = { records: 0, errorRecords: 0, objects: 0 };
  const spareBlocks: Buffer[] = [];
  const newBlock = () => spareBlocks.pop() ?? Buffer.allocUnsafeSlow(BLOCK_BYTES);

  /** Per table (or errors), the open buffer the last record went to: no partition id made per record. */
  const latest = new Map<string, Buffered>();

  const add = (record: ConsumedRecord) => {
    const route = routeRecord(record.data);
    const hour = hourStartMs(record.arrivalMs);
    const partition = route.kind === 'change' ? route.table : 'errors';
    let buffer = latest.get(partition);
    if (!buffer || buffer.hourStartMs !== hour || open.get(buffer.id) !== buffer) {
      const id = `${partition}@${hour}`;
      buffer = open.get(id);
      if (!buffer) {
        buffer = { id, table: route.kind === 'change' ? route.table : null, hourStartMs: hour, blocks: [], bytes: 0, records: 0, firstArrivalMs: record.arrivalMs, openedAtMs: now(), durable: false };
        open.set(id, buffer);
      }
      latest.set(partition, buffer);
    }
    if (route.kind === 'change') {
      // Exactly the record's bytes, then the delimiter (Firehose AppendDelimiterToRecord).
      // Copied into the buffer's blocks: the record may be a view of a much larger read chunk (the
      // local log's), which a buffer held until its flush would keep alive whole; and a Buffer per
      // record was garbage for the collector.
      append(buffer, record.data, newBlock);
      appendByte(buffer, NEWLINE, newBlock);
      summary.records++;
    } else {
      const line = Buffer.from(errorRecordLine(record, route, now()) + '\n');
      append(buffer, line, newBlock);
      summary.errorRecords++;
      logger.warn('stream record is not a routable change event: archived under errors/', { shardId: record.shardId, sequenceNumber: record.sequenceNumber, errorCode: route.errorCode });
    }
    buffer.records++;
    let queue = pending.get(record.shardId);
    if (!queue) pending.set(record.shardId, (queue = []));
    const run = queue[queue.length - 1];
    if (run?.last && run.buffer === buffer) run.last = record;
    else {
      if (run?.last) endRun(run);
      queue.push({ buffer, last: record });
    }
    return buffer;
  };

  const write = async (buffer: Buffered, reason: ArchiveFlush['reason']) => {
    open.delete(buffer.id);
    const body = bodyParts(buffer);
    const key = buffer.table === null ? errorObjectKey(buffer.firstArrivalMs, body) : changeObjectKey(buffer.table, buffer.firstArrivalMs, body);
    const compressed = await gzipParts(body);
    for (let attempt = 1; ; attempt++) {
      try {
        await ingestion.put(key, compressed);
        break;
      } catch (cause) {
        if (attempt >= attempts) throw new ArchiveWriteError(key, { cause });
        logger.warn('archive write failed, retrying', { key, attempt, error: cause });
        await delay(Math.min(100 * 2 ** attempt, 5_000));
      }
    }
    buffer.durable = true;
    // Compressed and hashed: the blocks are free for the next bodies.
    for (const block of buffer.blocks) if (spareBlocks.length < MAX_SPARE_BLOCKS) spareBlocks.push(block);
    buffer.blocks = [];
    summary.objects++;
    const flush: ArchiveFlush = { key, records: buffer.records, bytes: buffer.bytes, compressedBytes: compressed.byteLength, reason };
    logger.debug('archived object', { ...flush, metric: METRIC.eventsArchived });
    options.onFlush?.(flush);
  };

  /** Checkpoints each shard up to the last record whose object, and every earlier one's, is durable. */
  const checkpoint = async () => {
    for (const [shardId, queue] of pending) {
      let done = 0;
      while (done < queue.length && queue[done]!.buffer.durable) done++;
      if (done === 0) continue;
      const run = queue[done - 1]!;
      if (run.last) endRun(run); // the shard's last run: a record to the same buffer starts a new one
      await consumer.checkpoint(shardId, run.sequenceNumber!);
      queue.splice(0, done);
    }
  };

  const flushDue = async (force: boolean) => {
    const at = now();
    const due = [...open.values()].filter((b) => force || b.bytes >= maxBytes || at - b.openedAtMs >= flushIntervalMs);
    for (const buffer of due) await write(buffer, force ? 'shutdown' : buffer.bytes >= maxBytes ? 'size' : 'time');
    if (due.length > 0) await checkpoint();
  };

  logger.info('archiver started', { ingestion: ingestion.location, flushIntervalMs, maxBytes });
  try {
    while (!signal.aborted) {
      const nextDeadline = Math.min(...[...open.values()].map((b) => b.openedAtMs + flushIntervalMs));
      const waitMs = Number.isFinite(nextDeadline) ? Math.max(0, Math.min(1_000, nextDeadline - now())) : 1_000;
      // The signal ends a wait at once: a stop (sync, once everything is archived) need not sit out the read.
      const shards = await consumer.read({ maxRecords, waitMs, signal });
      for (const records of shards) {
        for (const record of records) {
          const buffer = add(record);
          // Size-triggered flushes happen at once so one buffer never grows past maxBytes + one record.
          if (buffer.bytes >= maxBytes) await write(buffer, 'size');
        }
      }
      await flushDue(false);
      await checkpoint();
    }
    // Graceful stop: what is buffered is written and checkpointed, so nothing is re-archived.
    await flushDue(true);
  } catch (error) {
    logger.error('archiver stopped on error; unarchived records will be re-delivered', { error });
    throw error;
  }
  logger.info('archiver stopped', { ...summary });
  return summary;
}

function endRun(run: PendingRun): void {
  run.sequenceNumber = run.last!.sequenceNumber;
  run.last = undefined;
}

/** Copies `data` to the end of the buffer's body. */
function append(buffer: Buffered, data: Uint8Array, newBlock: () => Buffer): void {
  let from = 0;
  while (from < data.byteLength) {
    const at = buffer.bytes % BLOCK_BYTES;
    if (at === 0) buffer.blocks.push(newBlock());
    const block = buffer.blocks[buffer.blocks.length - 1]!;
    const n = Math.min(BLOCK_BYTES - at, data.byteLength - from);
    block.set(from === 0 && n === data.byteLength ? data : data.subarray(from, from + n), at);
    from += n;
    buffer.bytes += n;
  }
}

function appendByte(buffer: Buffered, byte: number, newBlock: () => Buffer): void {
  const at = buffer.bytes % BLOCK_BYTES;
  if (at === 0) buffer.blocks.push(newBlock());
  buffer.blocks[buffer.blocks.length - 1]![at] = byte;
  buffer.bytes++;
}

/** The body's parts, in order: the full blocks and the filled part of the last (never joined: no copy of the body). */
function bodyParts(buffer: Buffered): Buffer[] {
  const { blocks, bytes } = buffer;
  const lastBytes = bytes - (blocks.length - 1) * BLOCK_BYTES;
  return blocks.map((block, i) => (i === blocks.length - 1 ? block.subarray(0, lastBytes) : block));
}

/** One GZIP member of the parts joined (the same bytes as gzip of the joined body: input chunking does not change deflate's output). */
async function gzipParts(parts: readonly Buffer[]): Promise<Buffer> {
  const gzip = createGzip({ level: ARCHIVE_GZIP_LEVEL });
  const out: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = once(gzip, 'end');
  for (const part of parts) gzip.write(part);
  gzip.end();
  await ended;
  return out.length === 1 ? out[0]! : Buffer.concat(out);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
