import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { runCapture, type CaptureResult } from '../capture/run-capture.js';
import { readSlotStatus, type SlotStatus } from '../capture/control/slot-status.js';
import { createObjectStore } from '../bucket/create-object-store.js';
import { loadPendingManifests } from '../loader/run-loader.js';
import { parquetLimitsFor } from '../loader/manifest-reader.js';
import { ensureWarehouseSchema } from '../loader/warehouse-schema.js';
import { readWarehouseStatus, type WarehouseStatus } from '../loader/warehouse-status.js';
import { createChangeStreamConsumer, createChangeStreamWriter } from '../stream/create-change-stream.js';
import type { ChangeStreamConsumer } from '../stream/change-stream.js';
import { newCounters, type PipelineCounters } from './pipeline-counters.js';
import { abortableDelay } from '../platform/abortable-delay.js';
import { recordLoad, runArchiverStage, runProcessorStage } from './local-stages.js';
import { captureStatusFile, CONSUMERS } from './pipeline-status.js';
import type { SnapshotProgress } from '../capture/snapshot/initial-snapshot.js';
import { createPostgresClient } from '../platform/postgres-client.js';

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
 * Brings the warehouse up to the source's current WAL position through every stage, then returns:
 * capture until the target LSN is published and confirmed, processor and archiver until their
 * consumers have nothing left, loader until no manifest is pending.
 */
export async function syncPipeline(options: {
  config: Readonly<Config>;
  sourceUrl: string;
  warehouseUrl: string;
  logger: Logger;
  onSnapshotProgress?: (progress: SnapshotProgress) => void;
  onPhase?: (phase: 'capture' | 'process' | 'load') => void;
}): Promise<SyncSummary> {
  const { config, logger, sourceUrl, warehouseUrl } = options;
  const startedAt = Date.now();
  const counters = newCounters();
  await ensureWarehouseSchema({ warehouseUrl, schema: config.warehouseSchema, logger });
  const targetLsn = await currentWalLsn(sourceUrl);

  const stages = newStageTimes();
  options.onPhase?.('capture');
  stages.capture.startedMs = Date.now();
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
      onSnapshotProgress: options.onSnapshotProgress,
    });
  } finally {
    await writer.close();
  }

  stages.capture.endedMs = Date.now();
  stages.capture.events = capture.eventsPublished;
  options.onPhase?.('process');
  stages.processor.startedMs = Date.now();
  const drain = new AbortController();
  const running = Promise.all([
    runProcessorStage(config, logger.child({ stage: 'processor' }), drain.signal, counters),
    runArchiverStage(config, logger.child({ stage: 'archiver' }), drain.signal, counters, 200),
  ]);
  try {
    await waitUntilDrained(config, logger, [CONSUMERS.processor, CONSUMERS.archiver], running);
  } finally {
    drain.abort();
    await running;
  }
  stages.processor.endedMs = Date.now();
  stages.processor.events = counters.processor.events;

  options.onPhase?.('load');
  stages.loader.startedMs = Date.now();
  const processed = createObjectStore(config, 'processed');
  let loaderEvents = 0;
  for (let run = 0; run < 10_000; run++) {
    const summary = await loadPendingManifests({ warehouseUrl, processed, schema: config.warehouseSchema, parquetLimits: parquetLimitsFor(config.bounds), logger: logger.child({ stage: 'loader' }) });
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
 * Polls the named consumers' lag until every one has nothing left (or a stage fails). The probes
 * are opened afresh for every poll: a consumer serves its checkpoints from memory after the first
 * read (local log cursor cache, FileCheckpointStore), so a long-lived probe would never see the
 * checkpoints the stage's own consumer writes and this wait would never end.
 */
export async function waitUntilDrained(
  config: Readonly<Config>,
  logger: Logger,
  names: string[],
  stages: Promise<unknown>,
  pollIntervalMs = 200,
): Promise<void> {
  let failed: unknown;
  stages.catch((error) => (failed = error));
  const never = new AbortController().signal;
  for (;;) {
    if (failed) throw failed;
    if (await allDrained(config, logger, names)) return;
    await abortableDelay(pollIntervalMs, never);
  }
}

async function allDrained(config: Readonly<Config>, logger: Logger, names: string[]): Promise<boolean> {
  for (const name of names) {
    const probe: ChangeStreamConsumer = await createChangeStreamConsumer(config, name, logger);
    try {
      if ((await probe.lag()).some((shard) => shard.records > 0)) return false;
    } finally {
      await probe.close();
    }
  }
  return true;
}
