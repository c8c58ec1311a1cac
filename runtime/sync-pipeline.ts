import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { runCapture, type CaptureResult } from '../capture/run-capture.js';
import { readSlotStatus, type SlotStatus } from '../capture/control/slot-status.js';
import { createObjectStore } from '../bucket/create-object-store.js';
import { CATCH_UP_MANIFESTS_PER_TRANSACTION, loadPendingManifests, type LoadPendingOptions } from '../loader/run-loader.js';
import { parquetLimitsFor } from '../loader/manifest-reader.js';
import { ensureWarehouseSchema } from '../loader/warehouse-schema.js';
import { readWarehouseStatus, type WarehouseStatus } from '../loader/warehouse-status.js';
import { createChangeStreamWriter } from '../stream/create-change-stream.js';
import { DrainProbe } from './drain-probe.js';
import { newCounters } from './pipeline-counters.js';
import { abortableDelay } from '../platform/abortable-delay.js';
import { errorMessage, isRetryable } from '../platform/errors.js';
import type { PipelineCounters } from './pipeline-counters.js';
import { recordLoad, runArchiverStage } from './local-stages.js';
import { ARCHIVER_THREAD_NICENESS, prepareArchiverThread, runArchiverStageOnThread } from './archiver-thread.js';
import { prepareProcessorThread, runProcessorStageOnThread } from './processor-thread.js';
import { ManifestWake } from '../loader/manifest-wake.js';
import { captureStatusFile, CONSUMERS } from './pipeline-status.js';
import type { SnapshotProgress } from '../capture/snapshot/initial-snapshot.js';
import { createPostgresClient } from '../platform/postgres-client.js';

/**
 * Rows per loader transaction in `sync` (the loader's default is 50,000). The loader holds the
 * decoded rows of the group it loads and of one complete group read ahead, on the thread that also
 * archives, while the processor worker has its own heap: at 50,000 a scale-10 first sync peaked at
 * 490–527 MB RSS (docs/performance.md, round three), over the 512 MB bound. Once snapshot reads go
 * straight into the fact tables the loader keeps up with the processor, so smaller groups cost a
 * few more statements, not time.
 */
export const SYNC_MAX_ROWS_PER_TRANSACTION = 20_000;

export interface SyncSummary {
  /** The source WAL position at the start: everything committed before it is in the warehouse. */
  targetLsn: string;
  capture: CaptureResult;
  processor: PipelineCounters['processor'];
  archiver: PipelineCounters['archiver'];
  loader: PipelineCounters['loader'];
  slot: SlotStatus;
  warehouse: WarehouseStatus;
  /** When each stage ran and how many events it passed on (bench:catchup's per-stage rates). */
  stages: Record<SyncStage, StageTime>;
  durationMs: number;
}

export type SyncStage = 'capture' | 'processor' | 'loader';

export interface StageTime {
  startedMs: number;
  endedMs: number;
  events: number;
}

function newStageTimes(): Record<SyncStage, StageTime> {
  const stage = (): StageTime => ({ startedMs: 0, endedMs: 0, events: 0 });
  return { capture: stage(), processor: stage(), loader: stage() };
}

/** Per stage: events, its running time and events per second of that time. */
function stageFigures(stages: Record<SyncStage, StageTime>): Record<SyncStage, { events: number; ms: number; eventsPerSecond: number }> {
  const figures = {} as Record<SyncStage, { events: number; ms: number; eventsPerSecond: number }>;
  for (const [name, t] of Object.entries(stages) as [SyncStage, StageTime][]) {
    const ms = Math.max(1, t.endedMs - t.startedMs);
    figures[name] = { events: t.events, ms, eventsPerSecond: Math.round((t.events * 1000) / ms) };
  }
  return figures;
}

/**
 * The consumers whose checkpoints `sync` waits on before it stops processing: the processor's
 * too, not only the archiver's, since the processor may run while capture appends and a read of
 * it that found nothing may have begun before the log was complete.
 */
export const SYNC_DRAIN_CONSUMERS = [CONSUMERS.processor, CONSUMERS.archiver];

/**
 * From this many records captured by the sync, its archiver runs on a thread of its own; below,
 * on this one: a worker's start (about 0.3 CPU-s and 0.35 s in bench:startup's `sync` with
 * nothing to capture) costs about what archiving 50k records does.
 */
export const ARCHIVER_THREAD_MIN_RECORDS = 50_000;

/**
 * The archiver thread's nice value: lowered (ARCHIVER_THREAD_NICENESS says why) when capture took
 * a snapshot, where the loader is the last stage to end; unchanged in a catch-up from the WAL,
 * where the archiver ends with the processor.
 */
export function archiverThreadNiceness(capture: Pick<CaptureResult, 'snapshotRows'>): number {
  return capture.snapshotRows > 0 ? ARCHIVER_THREAD_NICENESS : 0;
}

/**
 * How often sync asks whether its consumers have drained, once the processor has found nothing
 * after capture. A poll reads two checkpoint files per shard (the probe counts, it does not
 * decode); at 200 ms the wait added about 0.2-0.4 s to every sync (bench:catchup, 08 Dec).
 */
export const SYNC_DRAIN_POLL_MS = 50;

/**
 * Brings the warehouse up to the source's current WAL position through every stage, then returns:
 * capture until the target LSN is published and confirmed; then processor and archiver until
 * their consumers have nothing left, with the loader draining manifests as the processor writes
 * them; then the loader until no manifest is pending. During a snapshot (a first sync, a lost
 * slot's recovery), the processor already takes the rows as capture publishes them.
 *
 * Why this shape (bench:catchup, profiled; docs/performance.md): loading is mostly Postgres's
 * work, processing and archiving this process's. Loading after processing left Postgres idle
 * while this process worked and the other way round; loading while processing overlaps them. The
 * processor runs on a worker thread (processor-thread.ts), so it does not share a core with
 * capture, the archiver and the loader's reads. A snapshot is one COPY per table, little work for
 * Postgres, so the other core is free while it runs: processing its rows meanwhile made a scale-10
 * first sync about 10% faster (round five). Streaming WAL is not: Postgres's logical decoding
 * takes most of a core, and a processor running beside it made the catch-up about 10% slower, so
 * the processor waits for that capture to end. The archiver and the loader always wait for
 * capture's end: beside it they slowed it more than they gained (the loader shares this thread
 * with it; the archiver, on its own thread since round seven, was measured on this one). The
 * archiver has a thread of its own when there is much to archive, so that its reads and
 * compression do not delay the loader's next statement while Postgres waits for it
 * (archiver-thread.ts); with little, a worker's start would cost more than it saves.
 */
export async function syncPipeline(options: {
  config: Readonly<Config>;
  sourceUrl: string;
  warehouseUrl: string;
  logger: Logger;
  onSnapshotProgress?: (progress: SnapshotProgress) => void;
  onPhase?: (phase: 'capture' | 'process' | 'load') => void;
  /** ARCHIVER_THREAD_MIN_RECORDS unless given (tests take each way). */
  archiverThreadMinRecords?: number;
}): Promise<SyncSummary> {
  const { config, logger, sourceUrl, warehouseUrl } = options;
  const startedAt = Date.now();
  const counters = newCounters();
  await ensureWarehouseSchema({ warehouseUrl, schema: config.warehouseSchema, logger });
  const targetLsn = await currentWalLsn(sourceUrl);
  const stages = newStageTimes();
  const processed = createObjectStore(config, 'processed');

  options.onPhase?.('capture');
  stages.capture.startedMs = Date.now();
  const processingStop = new AbortController();
  const wake = new ManifestWake();
  // A read that found nothing says the processor has caught up with the log as it was; only a read
  // after capture has stopped (the log complete) lets the drain probe its checkpoints, below.
  let captured = false;
  let idleSinceCaptured = false;
  let processor: Promise<void> | undefined;
  const startProcessor = (): Promise<void> => {
    if (processor) return processor;
    stages.processor.startedMs = Date.now();
    processor = runProcessorStageOnThread(config, logger.child({ stage: 'processor' }), processingStop.signal, counters, wake, {
      onIdle: () => (idleSinceCaptured ||= captured),
    });
    processor.catch(() => {}); // awaited below
    return processor;
  };
  // The worker's script is made while capture runs, so the processor starts at once when wanted.
  prepareProcessorThread();
  const writer = await createChangeStreamWriter(config, logger.child({ stage: 'capture' }));
  let capture: CaptureResult;
  try {
    capture = await runCapture({
      sourceUrl,
      config,
      writer,
      logger: logger.child({ stage: 'capture' }),
      stopAtLsn: targetLsn,
      statusFile: captureStatusFile(config),
      onSnapshotProgress: (progress) => {
        // A snapshot's rows: the processor takes them as they are published (see above). A
        // snapshot is what makes a sync large: the archiver's thread script is made then (at the
        // first batch), not for every sync (most archive on this thread, below).
        if (!processor) prepareArchiverThread();
        void startProcessor();
        options.onSnapshotProgress?.(progress);
      },
    });
  } catch (error) {
    processingStop.abort();
    await processor?.catch(() => undefined);
    throw error;
  } finally {
    await writer.close();
  }
  // Nobody appends after capture (the writer's lock was this sync's): its end is the log's.
  const logEnd = writer.end?.();
  stages.capture.endedMs = Date.now();
  stages.capture.events = capture.eventsPublished;
  captured = true;

  // Then the archiver (on a thread of its own when there is much to archive) and a draining
  // loader (Postgres's work, woken by every manifest the processor writes), with the processor.
  options.onPhase?.('process');
  stages.loader.startedMs = Date.now();
  const archiverLogger = logger.child({ stage: 'archiver' });
  const archiving =
    capture.eventsPublished + capture.reconcileRecords >= (options.archiverThreadMinRecords ?? ARCHIVER_THREAD_MIN_RECORDS)
      ? runArchiverStageOnThread(config, archiverLogger, processingStop.signal, counters, 200, { niceness: archiverThreadNiceness(capture) })
      : runArchiverStage(config, archiverLogger, processingStop.signal, counters, 200);
  const processing = Promise.all([startProcessor(), archiving]);
  processing.catch(() => {}); // awaited below; waitUntilDrained sees a failure too
  const loaderStop = new AbortController();
  // One set of loader settings for the draining runs during processing and the final passes.
  const loadOptions: LoadPendingOptions = {
    warehouseUrl,
    processed,
    schema: config.warehouseSchema,
    parquetLimits: parquetLimitsFor(config.bounds),
    logger: logger.child({ stage: 'loader' }),
    maxManifestsPerTransaction: CATCH_UP_MANIFESTS_PER_TRANSACTION,
    maxRowsPerTransaction: SYNC_MAX_ROWS_PER_TRANSACTION,
  };
  const loading = loadUntilStopped({ loadOptions, counters, signal: loaderStop.signal, wake });
  loading.catch(() => {});
  let failure: unknown;
  try {
    await waitUntilDrained(config, logger, SYNC_DRAIN_CONSUMERS, processing, { pollIntervalMs: SYNC_DRAIN_POLL_MS, ready: () => idleSinceCaptured, end: logEnd });
  } catch (error) {
    failure = error;
  }
  // Both stages end what they started before sync returns or throws (the first failure wins).
  processingStop.abort();
  failure ??= await processing.then(() => undefined, (error: unknown) => error);
  stages.processor.endedMs = Date.now();
  stages.processor.events = counters.processor.events;
  loaderStop.abort();
  const drained: { events: number; error?: unknown } = await loading.then((events) => ({ events }), (error: unknown) => ({ events: 0, error }));
  failure ??= drained.error;
  if (failure !== undefined) throw failure;

  // Everything is processed: whatever the draining loader has not loaded yet, load now.
  options.onPhase?.('load');
  let loaderEvents = drained.events;
  for (let run = 0; run < 10_000; run++) {
    const summary = await loadPendingManifests(loadOptions);
    recordLoad(counters, summary);
    loaderEvents += summary.eventsLoaded;
    if (summary.status === 'locked') await new Promise((r) => setTimeout(r, 500));
    else if (summary.manifestsLoaded === 0) break;
  }
  stages.loader.endedMs = Date.now();
  stages.loader.events = loaderEvents;
  const [slot, warehouse] = await Promise.all([
    readSlotStatus(sourceUrl, config.capture.slotName),
    readWarehouseStatus(warehouseUrl, config.warehouseSchema),
  ]);
  const durationMs = Date.now() - startedAt;
  logger.info('sync finished', { durationMs, stages: stageFigures(stages) });
  return { targetLsn, capture, processor: counters.processor, archiver: counters.archiver, loader: counters.loader, slot, warehouse, stages, durationMs };
}

/**
 * The loader while the other stages run: draining runs (the lock held, new manifests listed every
 * pollIntervalMs and loaded at once, several per transaction when they pile up) until `signal`.
 * Resolves to the events loaded. A run that finds another loader holding the lock waits and tries
 * again; a failed run is logged and retried (sync's final passes load whatever is left).
 */
async function loadUntilStopped(args: { loadOptions: LoadPendingOptions; counters: PipelineCounters; signal: AbortSignal; wake: ManifestWake }): Promise<number> {
  const { signal } = args;
  let events = 0;
  while (!signal.aborted) {
    try {
      const summary = await loadPendingManifests({ ...args.loadOptions, drainUntilMs: Date.now() + 60_000, pollIntervalMs: 100, signal, wake: args.wake });
      recordLoad(args.counters, summary);
      events += summary.eventsLoaded;
      if (summary.status === 'locked') await abortableDelay(500, signal);
    } catch (error) {
      if (!isRetryable(error)) throw error;
      args.loadOptions.logger.warn('loader run failed while syncing; retrying', { error: errorMessage(error) });
      await abortableDelay(500, signal);
    }
  }
  return events;
}

/** The WAL insert position: with synchronous_commit off, pg_current_wal_lsn() can trail commits. */
export async function currentWalLsn(url: string): Promise<string> {
  const client = createPostgresClient({ url, applicationName: 'totesys-cdc-sync' });
  await client.connect();
  try {
    return (await client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0].lsn;
  } finally {
    await client.end();
  }
}

/**
 * Polls until the named consumers have checkpointed every record (or a stage fails). One probe
 * for the whole wait (drain-probe.ts), opened at once. Given the stream's end (sync: its writer's,
 * nobody appends after capture), a poll reads only the checkpoints. Otherwise the probe is warmed
 * at once: its pass to the log's end runs while the stages still work, and later polls read only
 * what was appended since. Before `ready` (sync: the processor has reported a read that found
 * nothing after capture ended) nothing is asked: the answer could only be no.
 */
export async function waitUntilDrained(
  config: Readonly<Config>,
  logger: Logger,
  names: string[],
  stages: Promise<unknown>,
  options: {
    pollIntervalMs?: number;
    /** Polled before each question: none is asked until it holds. */
    ready?: () => boolean;
    /** The stream's end as its writer left it (ChangeStreamWriter.end): the probe need not find it. */
    end?: ReadonlyMap<string, number>;
  } = {},
): Promise<void> {
  const { pollIntervalMs = 200, ready = () => true } = options;
  let failed: unknown;
  stages.catch((error) => (failed = error));
  const never = new AbortController().signal;
  const probe = await DrainProbe.open(config, names, logger, options.end);
  try {
    await probe.warm();
    for (;;) {
      if (failed) throw failed;
      if (ready() && (await probe.drained())) {
        if (failed) throw failed;
        return;
      }
      await abortableDelay(pollIntervalMs, never);
    }
  } finally {
    await probe.close();
  }
}
