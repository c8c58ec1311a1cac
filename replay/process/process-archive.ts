import type { ObjectStore, ObjectStoreDescription } from '../../bucket/object-store.js';
import { BulkLoad } from '../../loader/bulk-load.js';
import type { Logger } from '../../platform/logger.js';
import type { OrderedArchive } from '../order/ordered-archive.js';
import type { PhaseProgress } from '../replay-progress.js';
import { LanePool } from './lane-pool.js';
import { addLaneIssues, InlineLanes, type Lanes } from './lanes.js';
import { BulkLoadSink, LiveSchemaSink, type BulkLoaded } from './load-sink.js';

/**
 * Steps 2 (process) and 3 (load) of a replay, one path for every replay: the merged archive's
 * lines go to the processing lanes (lanes.ts), each of which processes its share and hands its
 * manifests to its load sink (load-sink.ts) while it goes on. What varies is only how many lanes
 * (one runs on the calling thread, more on worker threads) and where they load:
 *  - a rebuild bulk-loads into a schema nobody reads yet (loader/bulk-load.ts: keys, indexes and
 *    foreign keys are built once at the end instead of maintained row by row), one bulk loader per
 *    lane, on as many lanes as asked;
 *  - a replay into the live schema loads with the incremental loader, on one lane: the loader
 *    takes the schema's lock, and its passes list the replay's manifests in key order.
 */
export interface LaneStart {
  lanes: number;
  /** Where the lanes load. */
  load: 'bulk' | 'live-schema';
  processed: ObjectStore;
  /** The processed bucket as another thread re-creates it (bucket/create-object-store.ts); needed for more than one lane. */
  processedDescription: ObjectStoreDescription | null;
  processedPrefix: string;
  warehouseUrl: string;
  /** The schema loaded into. */
  schema: string;
  batchSize: number;
  /** Live schema only: how long to wait for a live loader's lock (default REPLAY_LOCK_WAIT_MS). */
  lockWaitMs?: number;
  logger: Logger;
}

/**
 * Starts the processing lanes. Replay calls this before it reads the archive: a lane on a worker
 * spends about a second of CPU loading its modules and connecting, which then overlaps the read
 * (whose scan leaves part of the machine idle) instead of delaying the processing.
 */
export async function startLanes(options: LaneStart): Promise<Lanes> {
  const { lanes, load, processed, processedDescription, logger, ...data } = options;
  if (lanes > 1) {
    if (load !== 'bulk' || !processedDescription) throw new Error('more than one lane needs a bulk load and a processed bucket other threads can open');
    return LanePool.start({ lanes, data: { ...data, processed: processedDescription }, logger });
  }
  const target = { warehouseUrl: data.warehouseUrl, schema: data.schema, processed, logger };
  return new InlineLanes({
    processed,
    processedPrefix: data.processedPrefix,
    batchSize: data.batchSize,
    logger,
    openSink: async () => (load === 'bulk' ? new BulkLoadSink(await BulkLoad.attach(target)) : new LiveSchemaSink({ ...target, processedPrefix: data.processedPrefix, lockWaitMs: data.lockWaitMs })),
  });
}

export interface ProcessResult {
  eventsReplayed: number;
  manifests: number;
  rowsLoaded: number;
  loadFailures: { manifestKey: string; error: string }[];
  /** Each lane's bulk loader's counts, for the opener to absorb before `finish`. */
  bulkLoaded: BulkLoaded[];
}

/**
 * Runs the archive's merged lines through `lanes`, in commit order, and resolves once everything is
 * processed and loaded. The lanes' counts and issues are folded into the archive's figures, so the
 * report reads the same whatever the number of lanes. Closes the archive; the caller closes the
 * lanes (on every path).
 */
export async function processArchive(args: { archive: OrderedArchive; lanes: Lanes; progress: PhaseProgress; logger: Logger }): Promise<ProcessResult> {
  const { archive, lanes, progress } = args;
  lanes.onProgress = () => {
    const sum = lanes.progress;
    progress.update(sum.events, archive.scan.eventsRead - sum.invalid - archive.merge.duplicates - sum.duplicates, sum.events);
  };
  await lanes.begin(archive.fileKeys);
  for await (const piece of archive.pieces()) await lanes.route(piece);
  await lanes.endProcessing();
  const processed = lanes.progress.events;
  progress.update(processed, processed, processed);
  await archive.close();

  progress.start('load', 'manifests');
  const results = await lanes.drain();
  let eventsReplayed = 0;
  let manifests = 0;
  let manifestsLoaded = 0;
  let rowsLoaded = 0;
  const loadFailures: ProcessResult['loadFailures'] = [];
  for (const result of results) {
    eventsReplayed += result.events;
    manifests += result.manifests;
    manifestsLoaded += result.manifestsLoaded;
    rowsLoaded += result.rowsLoaded;
    loadFailures.push(...result.loadFailures);
    archive.scan.eventsRead -= result.invalid;
    archive.merge.duplicates += result.duplicates;
  }
  addLaneIssues(archive.issues, results);
  args.logger.info('lanes done', { lanes: results.length, events: results.map((r) => r.events) });
  progress.update(manifestsLoaded, manifests, eventsReplayed);
  return { eventsReplayed, manifests, rowsLoaded, loadFailures, bulkLoaded: results.map((r) => r.loaded) };
}
