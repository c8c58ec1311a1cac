import { abortableDelay } from '../platform/abortable-delay.js';
import type { Config } from '../platform/config.js';
import { errorMessage } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { METRIC } from '../platform/metrics.js';
import type { WarehouseTable } from '../contracts/warehouse-model.js';
import { runArchiver } from '../archive/local-archiver.js';
import { createObjectStore } from '../bucket/create-object-store.js';
import { CATCH_UP_MANIFESTS_PER_TRANSACTION, runLoaderLoop } from '../loader/run-loader.js';
import { parquetLimitsFor } from '../loader/manifest-reader.js';
import { notifyingManifestPuts, type ManifestWake } from '../loader/manifest-wake.js';
import type { LoadSummary } from '../loader/run-loader.js';
import { runLocalProcessor } from '../stream-processors/local-processor.js';
import { createJoinStateStore } from '../stream-processors/state/create-state-store.js';
import { createChangeStreamConsumer } from '../stream/create-change-stream.js';
import type { ChangeStreamConsumer } from '../stream/change-stream.js';
import { LocalLogConsumer } from '../stream/local-log/local-log-consumer.js';
import type { PipelineCounters } from './pipeline-counters.js';
import { CONSUMERS } from './pipeline-status.js';

/**
 * The stages that run inside `up` / `sync` (locally they are consumers of the embedded stream;
 * in AWS the same code runs as Lambdas and Firehose does the archiving). Each resolves once its
 * signal is aborted and it has finished what it started (checkpointed only what is durable).
 */
/**
 * Batching: a batch closes PROCESSOR_BATCH_WINDOW_MS after the batch before it closed (the time
 * that one took to process is part of the window), when full, or as soon as the stream has been
 * idle for IDLE_CLOSE_MS (a burst that has been read goes out at once; a steady stream keeps the
 * whole window); a first record after a quiet spell goes out at once. The window bounds a steady
 * stream's freshness (at 1,000 changes/s the idle close never fires: the window is the wait) and
 * the manifests a second (at most one a window): with no window at all the processor wrote 14
 * manifests a second at 1,000 changes/s and the loader, reading and loading each, fell behind
 * (p99 1.2 s; docs/freshness.md "Round four"). A backlog fills a batch (maxBatchRecords) in its
 * first read whatever the window, and the loader groups the manifests that arrive during a
 * transaction, so the window costs the catch-up nothing.
 * Each manifest put notifies `wake` with its key (notifyingManifestPuts), so `up`'s loader loads it at once, without listing.
 */
export const PROCESSOR_BATCH_WINDOW_MS = 100;
export const PROCESSOR_IDLE_CLOSE_MS = 15;

export async function runProcessorStage(config: Readonly<Config>, logger: Logger, signal: AbortSignal, counters: PipelineCounters, wake?: ManifestWake, onIdle?: () => void): Promise<void> {
  const consumer = await createChangeStreamConsumer(config, CONSUMERS.processor, logger);
  // The embedded log: a read waiting for records wakes at the append, not at its next poll.
  if (consumer instanceof LocalLogConsumer) consumer.wakeOnAppend();
  const state = await createJoinStateStore(config, logger);
  // Quarantined events (undecodable records and events the transform rejects, both reported through
  // the metrics sink) are counted per attempt and taken only when the batch is durable. A failed
  // attempt is followed by a rewind to the last checkpoint and a retry that quarantines the same
  // events again (same keys): its count is dropped at the rewind, so each event counts once.
  let quarantinedInBatch = 0;
  const retried: ChangeStreamConsumer = {
    consumerName: consumer.consumerName,
    read: (options) => consumer.read(options),
    checkpoint: (shardId, sequenceNumber) => consumer.checkpoint(shardId, sequenceNumber),
    rewind: () => {
      quarantinedInBatch = 0;
      consumer.rewind();
    },
    lag: () => consumer.lag(),
    close: () => consumer.close(),
  };
  try {
    await runLocalProcessor({
      consumer: retried,
      state,
      processed: wake ? notifyingManifestPuts(createObjectStore(config, 'processed'), wake) : createObjectStore(config, 'processed'),
      logger,
      signal,
      maxWaitMs: 250,
      batchWindowMs: PROCESSOR_BATCH_WINDOW_MS,
      idleCloseMs: PROCESSOR_IDLE_CLOSE_MS,
      onIdle,
      metrics: { count: (name, value) => void (name === METRIC.eventsQuarantined && (quarantinedInBatch += value)) },
      onBatch: (result, timing) => {
        counters.processor.lastBatchMs = Math.round(timing.durationMs);
        counters.processor.batches += result.manifest ? 1 : 0;
        counters.processor.events += result.events;
        counters.processor.quarantined += quarantinedInBatch;
        quarantinedInBatch = 0;
      },
    });
  } finally {
    await state.close();
    await consumer.close();
  }
}

export async function runArchiverStage(
  config: Readonly<Config>,
  logger: Logger,
  signal: AbortSignal,
  counters: PipelineCounters,
  flushIntervalMs = config.archive.flushIntervalMs,
): Promise<void> {
  // A failed write (retryable) stops the archiver: start it again after a pause, never skip data.
  while (!signal.aborted) {
    const consumer = await createChangeStreamConsumer(config, CONSUMERS.archiver, logger);
    try {
      await runArchiver({
        consumer,
        ingestion: createObjectStore(config, 'ingestion'),
        flushIntervalMs,
        maxBytes: config.archive.maxBytes,
        logger,
        signal,
        onFlush: (flush) => {
          counters.archiver.objects++;
          counters.archiver.records += flush.records;
        },
      });
    } catch (error) {
      logger.error('archiver stopped; restarting in 5 s', { error: errorMessage(error) });
      await abortableDelay(5_000, signal);
    } finally {
      await consumer.close();
    }
  }
}

export function recordLoad(counters: PipelineCounters, summary: LoadSummary): void {
  const loader = counters.loader;
  loader.manifests += summary.manifestsLoaded;
  loader.rows += summary.rowsLoaded;
  loader.failures += summary.manifestsFailed;
  for (const [table, rows] of Object.entries(summary.rowsByTable) as [WarehouseTable, number][]) {
    loader.rowsByTable[table] = (loader.rowsByTable[table] ?? 0) + rows;
  }
  loader.freshnessMs = summary.freshnessMs;
  loader.watermarkAgeMs = summary.watermarkAgeMs;
  if (summary.manifestsLoaded > 0) loader.lastLatencyMs = summary.freshnessMs;
  if (summary.failures.length > 0) loader.lastError = summary.failures[summary.failures.length - 1].error;
}

export async function runLoaderStage(
  config: Readonly<Config>,
  warehouseUrl: string,
  logger: Logger,
  signal: AbortSignal,
  counters: PipelineCounters,
  wake?: ManifestWake,
): Promise<void> {
  await runLoaderLoop({
    wake,
    // Woken per manifest, the loader finds a few pending at a time under load: one transaction for them.
    maxManifestsPerTransaction: CATCH_UP_MANIFESTS_PER_TRANSACTION,
    warehouseUrl,
    processed: createObjectStore(config, 'processed'),
    schema: config.warehouseSchema,
    logger,
    intervalMs: config.loader.intervalMs,
    drainWindowMs: config.loader.drainWindowMs,
    pollIntervalMs: config.loader.pollIntervalMs,
    parquetLimits: parquetLimitsFor(config.bounds),
    signal,
    onSummary: (summary) => recordLoad(counters, summary),
    onError: (error) => {
      counters.loader.lastError = errorMessage(error);
      logger.error('loader run failed', { error: errorMessage(error) });
    },
  });
}
