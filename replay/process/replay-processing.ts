import type { ObjectStore, ObjectStoreDescription } from '../../bucket/object-store.js';
import { abortableDelay } from '../../platform/abortable-delay.js';
import { PipelineError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { ManifestFile } from '../../contracts/manifest.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import type { BulkLoad } from '../../loader/bulk-load.js';
import { loadPendingManifests } from '../../loader/run-loader.js';
import { manifestKey } from '../../contracts/manifest-layout.js';
import { processEvents } from '../../stream-processors/process-batch.js';
import { MemoryJoinStateStore } from '../../stream-processors/state/memory-join-state-store.js';
import { BackgroundLoads } from './background-loads.js';
import { LanePool, addLaneIssues } from './lane-pool.js';
import type { OrderedArchive } from '../order/ordered-archive.js';
import type { ReplayPhase, ReplayProgress } from '../replay.js';

/**
 * Steps 2 (process) and 3 (load) of a replay, in the three ways replay.ts chooses between:
 *  - processInLanes      a rebuild on worker threads, each bulk-loading its share (lane-pool.ts);
 *  - processAndBulkLoad  a rebuild on this thread, the bulk load overlapped with processing;
 *  - processAndLoad      a replay into the live schema: the incremental loader, overlapped.
 * Each processes in commit order with a fresh join state in memory (a replay starts from empty
 * state and is never resumed), closes the archive, and resolves once everything is loaded.
 */
export interface ProcessStep {
  archive: OrderedArchive;
  processedPrefix: string;
  /** The schema loaded into. */
  schema: string;
  batchSize: number;
  logger: Logger;
  progress: PhaseProgress;
}

export interface PhaseProgress {
  start(phase: ReplayPhase, unit: ReplayProgress['unit']): void;
  update(done: number, total: number, events: number): void;
}

export interface ProcessResult {
  eventsReplayed: number;
  manifests: number;
  rowsLoaded: number;
  loadFailures: { manifestKey: string; error: string }[];
}

/** A manifest the bulk load could not load (the cause is the loader's error). */
export class BulkLoadFailure extends PipelineError {
  constructor(readonly manifestKey: string | null, cause: unknown) {
    super(`manifest ${manifestKey} failed to load`, { retryable: false, cause });
  }
}

/** Far enough back that the loader lists every manifest of the replay prefix. */
const REPLAY_LOOKBACK_MS = 100 * 365 * 24 * 3_600_000;

const sumRows = (rows: Partial<Record<string, number>>) => Object.values(rows).reduce<number>((sum, n) => sum + (n ?? 0), 0);

export interface LaneStart {
  lanes: number;
  processed: ObjectStoreDescription;
  processedPrefix: string;
  warehouseUrl: string;
  schema: string;
  batchSize: number;
  logger: Logger;
}

/**
 * Starts the processing lanes of a rebuild. Replay calls this before it reads the archive: a lane
 * spends about a second of CPU loading its modules and connecting, which then overlaps the read
 * (whose scan leaves part of the machine idle) instead of delaying the processing.
 */
export function startLanes(options: LaneStart): Promise<LanePool> {
  const { lanes, logger, ...data } = options;
  return LanePool.start({ lanes, data, logger });
}

/**
 * A rebuild on processing lanes (started by startLanes): this thread routes the merged lines, the
 * lanes decode, process and bulk-load them; their counts and issues are folded into the archive's
 * figures, so the report reads as on one thread. The lanes are terminated on every path.
 */
export async function processInLanes(args: ProcessStep & { bulk: BulkLoad; pool: LanePool }): Promise<ProcessResult> {
  const { archive, progress, pool } = args;
  pool.onProgress = () => {
    const sum = pool.progress;
    progress.update(sum.events, archive.scan.eventsRead - sum.invalid - archive.merge.duplicates - sum.duplicates, sum.events);
  };
  try {
    pool.begin(archive.fileKeys);
    for await (const piece of archive.pieces()) await pool.route(piece);
    const results = await pool.finish();
    let eventsReplayed = 0;
    let manifests = 0;
    let rowsLoaded = 0;
    for (const result of results) {
      eventsReplayed += result.events;
      manifests += result.manifests;
      rowsLoaded += result.rowsLoaded;
      archive.scan.eventsRead -= result.invalid;
      archive.merge.duplicates += result.duplicates;
      args.bulk.absorb(result.loaded);
    }
    addLaneIssues(archive.issues, results);
    progress.update(eventsReplayed, eventsReplayed, eventsReplayed);
    args.logger.info('lanes done', { lanes: results.length, events: results.map((r) => r.events) });
    await archive.close();
    progress.start('load', 'manifests');
    progress.update(manifests, manifests, eventsReplayed);
    return { eventsReplayed, manifests, rowsLoaded, loadFailures: [] };
  } finally {
    await pool.close();
  }
}

/**
 * A rebuild on this thread: each batch's manifest is bulk-loaded in the background while the next
 * batch is processed, with the rows the processor has just encoded (no decoding of its own files).
 * A failed load rejects with BulkLoadFailure.
 */
export async function processAndBulkLoad(args: ProcessStep & { bulk: BulkLoad; processed: ObjectStore }): Promise<ProcessResult> {
  const { archive, progress, bulk } = args;
  const state = new MemoryJoinStateStore();
  const background = new BackgroundLoads();
  let eventsReplayed = 0;
  let manifests = 0;
  try {
    for await (const events of archive.batches(args.batchSize)) {
      const fileRows = new Map<string, readonly WarehouseRow[]>();
      const onFileRows = (file: ManifestFile, rows: readonly WarehouseRow[]) => void fileRows.set(file.key, rows);
      const manifest = await processEvents(events, { state, processed: args.processed, logger: args.logger, prefix: args.processedPrefix, onFileRows });
      eventsReplayed += events.length;
      if (manifest) {
        manifests++;
        const key = manifestKey(args.processedPrefix, manifest.createdAt, manifest.batchId);
        await background.add(key, async () => sumRows(await bulk.load(key, manifest, (file) => fileRows.get(file.key))));
      }
      progress.update(eventsReplayed, archive.scan.eventsRead - archive.merge.duplicates, eventsReplayed);
    }
    await archive.close();
    progress.start('load', 'manifests');
    const { rowsLoaded, loaded } = await background.drain();
    progress.update(loaded, manifests, eventsReplayed);
    return { eventsReplayed, manifests, rowsLoaded, loadFailures: [] };
  } catch (error) {
    await background.drain().catch(() => {});
    throw background.failedManifest ? new BulkLoadFailure(background.failedManifest, error) : error;
  }
}

/**
 * A replay into the live schema: loader passes over the replay's manifests run while processing
 * goes on, until processing has finished and a pass that STARTED after that found nothing more (a
 * pass that started earlier may have listed before the last manifest was written). Loading stops
 * at the first failed manifest; failures are returned (the replay is then partial).
 */
export async function processAndLoad(args: ProcessStep & { processed: ObjectStore; warehouseUrl: string; replayId: string }): Promise<ProcessResult> {
  const { archive, progress } = args;
  const state = new MemoryJoinStateStore();
  let processingDone = false;
  const loading = loadWhileProcessing({ ...args, processingDone: () => processingDone });
  loading.catch(() => {}); // awaited below; a failure must not surface as an unhandled rejection meanwhile
  let eventsReplayed = 0;
  let manifests = 0;
  try {
    for await (const events of archive.batches(args.batchSize)) {
      const manifest = await processEvents(events, { state, processed: args.processed, logger: args.logger, prefix: args.processedPrefix });
      eventsReplayed += events.length;
      if (manifest) manifests++;
      progress.update(eventsReplayed, archive.scan.eventsRead - archive.merge.duplicates, eventsReplayed);
    }
  } catch (error) {
    processingDone = true;
    await loading.catch(() => {});
    throw error;
  } finally {
    processingDone = true;
  }
  await archive.close();
  progress.start('load', 'manifests');
  const { rowsLoaded, loaded, loadFailures } = await loading;
  progress.update(loaded, manifests, eventsReplayed);
  return { eventsReplayed, manifests, rowsLoaded, loadFailures };
}

async function loadWhileProcessing(args: {
  processed: ObjectStore;
  warehouseUrl: string;
  logger: Logger;
  schema: string;
  processedPrefix: string;
  replayId: string;
  processingDone: () => boolean;
}): Promise<{ rowsLoaded: number; loaded: number; loadFailures: { manifestKey: string; error: string }[] }> {
  let rowsLoaded = 0;
  let loaded = 0;
  const loadFailures: { manifestKey: string; error: string }[] = [];
  for (;;) {
    const finalPass = args.processingDone();
    const result = await loadPendingManifests({
      warehouseUrl: args.warehouseUrl,
      processed: args.processed,
      logger: args.logger,
      schema: args.schema,
      prefix: `${args.processedPrefix}manifests/`,
      lookbackMs: REPLAY_LOOKBACK_MS,
      maxManifests: 200,
      retry: { maxAttempts: 1 },
    });
    if (result.status === 'locked') throw new LoaderLockedError(args.schema);
    rowsLoaded += result.rowsLoaded;
    loaded += result.manifestsLoaded;
    loadFailures.push(...result.failures.map((f) => ({ manifestKey: f.manifestKey, error: f.error })));
    if (result.manifestsFailed > 0) break;
    if (result.manifestsLoaded === 0) {
      if (finalPass) break;
      await abortableDelay(200);
    }
  }
  return { rowsLoaded, loaded, loadFailures };
}

/** Another loader holds the schema's lock (a live loader, or another replay): try again later. */
export class LoaderLockedError extends PipelineError {
  constructor(readonly schema: string) {
    super(`another loader holds the lock on schema ${schema}`, { retryable: true });
  }
}
