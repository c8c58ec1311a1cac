import type { ObjectStore } from '../bucket/object-store.js';
import { errorMessage, isRetryable } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { ChangeStreamConsumer, ConsumedRecord } from '../stream/change-stream.js';
import type { MetricsSink } from './processor-metrics.js';
import { processRecords, type ProcessRecordsResult } from './process-records.js';
import type { JoinStateStore } from './state/join-state-store.js';
import { abortableDelay } from '../platform/abortable-delay.js';

export interface LocalProcessorOptions {
  consumer: ChangeStreamConsumer;
  state: JoinStateStore;
  processed: ObjectStore;
  logger: Logger;
  signal: AbortSignal;
  /** Records per read (default 10000). */
  maxBatchRecords?: number;
  /** How long a read waits for the first record (default 1000 ms). */
  maxWaitMs?: number;
  /**
   * Batching window: a batch closes this long after the one before it closed (at the earliest at
   * its first read), or when full (maxBatchRecords), so a steady trickle becomes a few larger
   * batches instead of one tiny manifest per record (default 0: process what the first read
   * returned). Counted from the batch before's close, not from this batch's first read (the Lambda
   * event source's window): the time that batch took to process and checkpoint is part of the
   * window instead of coming before it, so a steady stream's records wait one window, not a window
   * plus a batch; the batches, and so the manifests, are no more than one a window. A first record
   * after a quiet spell (longer than the window) goes out at once.
   */
  batchWindowMs?: number;
  /**
   * Closes the batching window early when the stream is idle: a read inside the window that finds
   * nothing new for this long ends the batch (default: no early close). A steady stream keeps
   * every read busy, so the window (and the batch size that throughput needs) is unchanged under
   * load; between bursts the batch goes out as soon as the burst has been read.
   */
  idleCloseMs?: number;
  metrics?: MetricsSink;
  prefix?: string;
  /**
   * Called when a read finds nothing: every record before it is processed and checkpointed (a
   * failed batch is rewound and read again, never skipped). `sync` knows from it that the processor
   * has drained a log nobody writes to any more, without decoding the log to measure the lag.
   * Called at once (a read that does not wait comes first), not after maxWaitMs; when the last
   * batch's checkpoints are still being written, once they are durable.
   */
  onIdle?: () => void;
  /** Called after each batch is durable and checkpointed, with the time it took from read to checkpoint. */
  onBatch?: (result: ProcessRecordsResult, timing: { durationMs: number }) => void;
  /** Backoff after a failed batch: first delay, doubled up to the max (default 200 ms .. 30 s). */
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
}

/**
 * The in-process consumer (local stand-in for the Lambda event source mapping). Loop: read records
 * grouped per shard → decode (quarantine poison) → processEvents → checkpoint each shard's last
 * sequence number. Invariant: a checkpoint is written only AFTER the batch's manifest is durable, so
 * a crash at any point re-delivers the batch (at-least-once; processing is idempotent). A failed
 * batch is rewound and retried with backoff, never skipped. Resolves when `signal` aborts.
 */
export async function runLocalProcessor(options: LocalProcessorOptions): Promise<void> {
  const { consumer, logger, signal } = options;
  const maxRecords = options.maxBatchRecords ?? 10_000;
  const waitMs = options.maxWaitMs ?? 1_000;
  const initialDelayMs = options.retryInitialDelayMs ?? 200;
  const maxDelayMs = options.retryMaxDelayMs ?? 30_000;
  let delayMs = initialDelayMs;
  /** The next batch, read while this one's writes are made durable: only when behind. */
  let ahead: Promise<ConsumedRecord[][]> | undefined;
  /**
   * The last batch's checkpoints, written behind the reads: the next batch is read (and processed)
   * while they are made durable (a file and an fsync per shard, 10-20 ms that used to come before
   * every read). Settles, never rejects; a failure is kept in checkpointFailure and thrown before
   * the next batch is processed or checkpointed (rewind and retry).
   */
  let checkpointing: Promise<void> = Promise.resolve();
  /** When the last batch closed: the next one closes batchWindowMs later. */
  let lastClosedMs = Number.NEGATIVE_INFINITY;
  let checkpointFailure: { error: unknown } | undefined;
  const throwCheckpointFailure = () => {
    const failure = checkpointFailure;
    checkpointFailure = undefined;
    if (failure) throw failure.error;
  };
  /**
   * `onIdle` once every batch before the empty read is checkpointed (what sync's drain relies on),
   * without holding up the read that waits for new records meanwhile. Not after a failed checkpoint
   * (its batch is processed again).
   */
  const idle = () => {
    void checkpointing.then(() => {
      if (!checkpointFailure) options.onIdle?.();
    });
  };
  logger.info('stream processor started', { consumer: consumer.consumerName, maxRecords });
  while (!signal.aborted) {
    let groups: ConsumedRecord[][] = [];
    try {
      const readAhead = await ahead;
      ahead = undefined;
      // A full batch read ahead is a whole batch (no batching window could add to it).
      const window = { closesAtMs: lastClosedMs + (options.batchWindowMs ?? 0), idleCloseMs: options.idleCloseMs };
      groups = readAhead && recordCount(readAhead) >= maxRecords ? readAhead : await readBatch(consumer, maxRecords, waitMs, window, signal, idle, readAhead);
      throwCheckpointFailure();
      const records = groups.flat();
      if (records.length === 0) continue;
      lastClosedMs = Date.now();
      const startedMs = performance.now();
      // Shard groups are concatenated: each key lives on one shard, so its order is kept.
      const processing = processRecords(records, {
        state: options.state,
        processed: options.processed,
        logger,
        metrics: options.metrics,
        prefix: options.prefix,
      });
      // Behind (a full batch): the next batch is read while this one waits for its writes
      // (fsyncs). Only read: it is checkpointed after its own manifest, and dropped by a rewind.
      if (records.length >= maxRecords && !signal.aborted) {
        ahead = consumer.read({ maxRecords, waitMs: 0 });
        ahead.catch(() => undefined); // handled: awaited at the next batch (or before a rewind or return)
      }
      const result = await processing;
      delayMs = initialDelayMs;
      // Only after the manifest is durable, and after the checkpoints of the batch before (a shard's
      // checkpoint never moves back; and at most one batch's are outstanding, normally written long
      // ago: they started before this batch was read); one per shard (its last record), the shards
      // at once. allSettled: a failed shard's rewind must not race another shard's checkpoint still
      // being written.
      await checkpointing;
      throwCheckpointFailure();
      const last = [...lastRecordPerShard(groups).values()];
      checkpointing = (async () => {
        const written = await Promise.allSettled(last.map((record) => consumer.checkpoint(record.shardId, record.sequenceNumber)));
        const failed = written.find((w): w is PromiseRejectedResult => w.status === 'rejected');
        if (failed) {
          checkpointFailure ??= { error: failed.reason };
          return;
        }
        options.onBatch?.(result, { durationMs: performance.now() - startedMs });
      })();
    } catch (error) {
      // A read ahead still running must finish before the rewind closes its cursors; its records
      // are dropped (read again after the rewind). So must the checkpoints being written.
      await ahead?.catch(() => undefined);
      ahead = undefined;
      await checkpointing;
      checkpointFailure = undefined;
      consumer.rewind();
      if (signal.aborted) break;
      const level = isRetryable(error) ? 'warn' : 'error';
      logger[level]('batch failed; rewinding to the last checkpoint and retrying', {
        error: errorMessage(error),
        retryable: isRetryable(error),
        retryInMs: delayMs,
        shards: groups.map((g) => g[0]?.shardId).filter(Boolean),
      });
      await abortableDelay(delayMs, signal);
      delayMs = Math.min(maxDelayMs, delayMs * 2);
    }
  }
  // Stopped with a batch read ahead: its records are not checkpointed (read again at the next start);
  // the read finishes before the caller closes the consumer, and so do the checkpoints being written.
  await ahead?.catch(() => undefined);
  await checkpointing;
  if (checkpointFailure) logger.warn('checkpoint failed at stop; its batch is processed again at the next start', { error: errorMessage(checkpointFailure.error) });
  logger.info('stream processor stopped', { consumer: consumer.consumerName });
}

/**
 * One batch: the first read, then more reads until the window closes (`closesAtMs`), the batch is
 * full, or (idleCloseMs) a read finds nothing new; records stay grouped per shard, in order. The
 * first read looks once without waiting: when that finds nothing, `onIdle` hears it at once (sync's
 * drain no longer waits out maxWaitMs for it), then a read waits for records; the abort signal ends
 * that wait (a stopping stage no longer waits out maxWaitMs either).
 */
async function readBatch(
  consumer: ChangeStreamConsumer,
  maxRecords: number,
  waitMs: number,
  window: { closesAtMs: number; idleCloseMs?: number },
  signal: AbortSignal,
  onIdle?: () => void,
  /** A read already made (ahead): the first read. */
  given?: ConsumedRecord[][],
): Promise<ConsumedRecord[][]> {
  const { closesAtMs: deadline, idleCloseMs } = window;
  const isEmpty = (groups: ConsumedRecord[][]) => groups.every((group) => group.length === 0);
  let first = given && !isEmpty(given) ? given : await consumer.read({ maxRecords, waitMs: 0 });
  if (isEmpty(first)) {
    onIdle?.();
    if (signal.aborted) return first;
    first = await consumer.read({ maxRecords, waitMs, signal });
  }
  let count = first.reduce((n, g) => n + g.length, 0);
  if (count === 0 || !(deadline > Date.now())) return first;
  const byShard = new Map<string, ConsumedRecord[]>();
  const add = (groups: ConsumedRecord[][]) => {
    for (const group of groups) {
      if (group.length === 0) continue;
      const shardId = group[0].shardId;
      const existing = byShard.get(shardId);
      if (existing) existing.push(...group);
      else byShard.set(shardId, [...group]);
    }
  };
  add(first);
  // Inside the window, look every idleCloseMs (or once, at its end), not at every append: a read
  // that wakes on append (wakeOnAppend) would otherwise read once a capture put, several times
  // as often, for a batch that closes at the deadline anyway. Nothing new since the last look
  // (idleCloseMs): the stream is idle, the batch goes out.
  while (count < maxRecords && !signal.aborted) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    await abortableDelay(idleCloseMs === undefined ? left : Math.min(left, idleCloseMs), signal);
    const more = await consumer.read({ maxRecords: maxRecords - count, waitMs: 0 });
    const read = more.reduce((n, g) => n + g.length, 0);
    if (read === 0 && idleCloseMs !== undefined) break;
    add(more);
    count += read;
  }
  return [...byShard.values()];
}

const recordCount = (groups: readonly ConsumedRecord[][]): number => groups.reduce((n, g) => n + g.length, 0);

/** Each shard's last record (the one to checkpoint), whichever group it came in. */
function lastRecordPerShard(groups: readonly ConsumedRecord[][]): Map<string, ConsumedRecord> {
  const last = new Map<string, ConsumedRecord>();
  for (const group of groups) {
    const record = group.at(-1);
    if (record) last.set(record.shardId, record);
  }
  return last;
}
