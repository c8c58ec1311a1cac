import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ObjectStore } from '../bucket/object-store.js';
import { errorMessage, isRetryable, PipelineError, UserError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { BulkLoad } from '../loader/bulk-load.js';
import { DEFAULT_WAREHOUSE_SCHEMA } from '../loader/warehouse-ddl.js';
import { takeLoaderLock } from '../loader/loader-lock.js';
import { openOrderedArchive } from './order/ordered-archive.js';
import type { ScanStats } from './read/archive-reader.js';
import type { ArchiveReadLimits } from './read/archived-line.js';
import type { ArchiveIssue, ArchiveIssueKind } from './replay-report.js';
import { swapSchemaNames, swapSchemas, type SchemaSwapResult } from '../loader/schema-swap.js';
import { describeObjectStore } from '../bucket/create-object-store.js';
import { LaneError, type Lanes } from './process/lanes.js';
import { LoaderLockedError, REPLAY_LOCK_WAIT_MS } from './process/load-sink.js';
import { processArchive, startLanes } from './process/process-archive.js';
import { progressReporter, type ReplayProgress } from './replay-progress.js';
import { createPostgresClient, withPostgresClient } from '../platform/postgres-client.js';
import type { ReconcileRecord } from '../contracts/reconcile.js';
import { applyReconcilesInOrder } from '../loader/apply-reconciles.js';
import { inTransaction } from '../platform/in-transaction.js';

export type { ReplayPhase, ReplayProgress } from './replay-progress.js';

/**
 * Replay: rebuilds processed data and the warehouse from the ingestion bucket alone.
 *
 *  1. read   list the selected archive objects (table and arrival-hour partitions), decompress
 *            line by line, validate, report bad input with file and line, external-sort into
 *            commit order (event version) and dedupe by event id (ordered-archive.ts);
 *  2. process run the events, in commit order, through the SAME processor code as the live stream
 *            (processEvents) with a FRESH join state in memory, into `archive-replay/<replayId>/`,
 *            on processing lanes (process/lanes.ts): one on this thread, or, for a rebuild, `lanes`
 *            worker threads, each with a key-partitioned share of the events and its own join state
 *            and loader connection. One path either way (process/process-archive.ts);
 *  3. load   the SAME loader, overlapped with processing (process/load-sink.ts): into the live
 *            schema (incremental and idempotent: facts dedupe by event id, dimensions are
 *            version-guarded) or, with `rebuild`, in its bulk mode (loader/bulk-load.ts) into a new
 *            schema `star_rebuild_<ts>` that is then swapped in one transaction
 *            (loader/schema-swap.ts). An unfinished rebuild schema is dropped on failure; the live
 *            schema is never touched;
 *  4. reconcile the selection's reconcile records (a TRUNCATE, a chunk of a snapshot or a
 *            resnapshot: deletes that reached the pipeline without a delete event), deduplicated
 *            and applied in version order after every event is loaded, as the live loader applied
 *            them (loader/apply-reconciles.ts applyReconcilesInOrder): in a rebuild inside the bulk
 *            load's `finish` (before version rule F2), into the live schema in one transaction
 *            under the loader's lock (ones it already applied are skipped). So a rebuild equals the
 *            live warehouse after truncates, lost-slot recoveries and resnapshots too.
 *
 * docs/replay.md describes the stages, the lanes and the memory bounds.
 *
 * Bad input never stops a replay: it is collected in a report (`archive-replay/<replayId>/report.json` in
 * the processed bucket, and returned) and the summary says `partial: true`.
 */
export interface ReplayOptions {
  ingestion: ObjectStore;
  processed: ObjectStore;
  warehouseUrl: string;
  /** Arrival-hour partitions overlapping [from, to) are read (hour granularity). */
  from?: Date;
  to?: Date;
  tables?: string[];
  /** Build into a new schema and swap it in (default false: load into the live schema). */
  rebuild?: boolean;
  logger: Logger;
  onProgress?: (progress: ReplayProgress) => void;
  /** Live warehouse schema (default `star`). */
  schema?: string;
  /** Into the live schema: how long to wait for a live loader's lock before failing as retryable (default 120 s; `up`'s loader lets go within about a second). */
  lockWaitMs?: number;
  /** Events per processed batch / manifest (default 20000). */
  batchSize?: number;
  /** Memory budget of one sort run (default 64 MiB). */
  maxRunBytes?: number;
  /** Parent of the temp dir for sort runs (default os.tmpdir()). */
  /** Bounds of the archive scan (line length, issues kept per object; default DEFAULT_ARCHIVE_READ_LIMITS). */
  limits?: ArchiveReadLimits;
  tempDir?: string;
  /**
   * Processing lanes for a rebuild (default DEFAULT_LANES: 2, or one per two cores): worker threads that each parse, process and
   * bulk-load a share of the events (replay/process/lanes.ts). 1, a replay into the live schema, or a processed store that cannot
   * be described to another thread (bucket/create-object-store.ts), runs its one lane on this thread.
   */
  lanes?: number;
  /** Fixed replay id (tests); default `<UTC yyyymmddThhmmssZ>-<hex>`. */
  replayId?: string;
  now?: () => Date;
}

/** The scan's figures (files, bytes, lines, eventsRead, otherRecords) and what became of the events. */
export interface ReplayReport extends ScanStats {
  replayId: string;
  startedAt: string;
  finishedAt: string;
  partial: boolean;
  selection: { from: string | null; to: string | null; tables: string[] | null; rebuild: boolean };
  duplicates: number;
  eventsReplayed: number;
  sortRuns: number;
  /** Processing lanes (threads) the events went through; 1 = processed on the calling thread. */
  lanes: number;
  manifests: number;
  rowsLoaded: number;
  /** Distinct reconcile records in the selection, how many were applied (not already), and the delete versions they made. */
  reconciles: number;
  reconcilesApplied: number;
  reconcileRowsDeleted: number;
  loadFailures: { manifestKey: string; error: string }[];
  issueCount: number;
  issueCounts: Partial<Record<ArchiveIssueKind, number>>;
  /** The first 1000 issues, each with file and line. */
  issues: ArchiveIssue[];
  issuesTruncated: boolean;
}

export interface ReplaySummary extends Omit<ReplayReport, 'issues'> {
  issues: ArchiveIssue[];
  processedPrefix: string;
  reportKey: string;
  /** Schema the events were loaded into (before any swap). */
  loadSchema: string;
  swap: SchemaSwapResult | null;
  durationMs: number;
  eventsPerSecond: number;
}

export class ReplayError extends PipelineError {
  constructor(message: string, readonly replayId: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options);
  }
}

/**
 * At least two lanes, one per two cores beyond that: a lane keeps about one core busy and Postgres
 * needs its share. On this project's 2-core machine two lanes rebuilt 1M events in 19.5 s (median of
 * 6 runs) where one lane took 23.6 s in the same hour, for about twice the memory (1 GiB against
 * 532 MiB peak RSS).
 */
const DEFAULT_LANES = Math.min(8, Math.max(2, Math.floor(os.availableParallelism() / 2)));
const MAX_LANES = 16;

/** Top-level prefix of replays in the processed bucket (see the ordering note in replay()). */
export const REPLAY_PREFIX = 'archive-replay/';


export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const now = options.now ?? (() => new Date());
  const started = now();
  const startedMs = performance.now();
  const stamp = started.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''); // 20261122T120000Z
  const replayId = options.replayId ?? `${stamp}-${randomBytes(3).toString('hex')}`;
  const liveSchema = options.schema ?? DEFAULT_WAREHOUSE_SCHEMA;
  const schemaStamp = stamp.toLowerCase().replace('t', '_').replace('z', '');
  const { rebuildSchema, oldSchema } = swapSchemaNames(liveSchema, schemaStamp);
  const loadSchema = options.rebuild ? rebuildSchema : liveSchema;
  // The prefix must sort BEFORE the live `manifests/`: the loader resumes listing its prefix after
  // the newest key in its ledger, and a replay's keys land in the same ledger. A key sorting after
  // `manifests/` (e.g. `replay/…`) would make the live loader skip every new live manifest.
  const processedPrefix = `${REPLAY_PREFIX}${replayId}/`;
  const reportKey = `${processedPrefix}report.json`;
  const batchSize = options.batchSize ?? 20_000;
  const logger = options.logger.child({ component: 'replay', replayId });
  if (options.rebuild && options.tables?.length) {
    throw new UserError('--rebuild replaces the whole warehouse: it cannot be limited to some tables (drop --tables, or replay without --rebuild)');
  }

  if (options.lanes !== undefined && !(Number.isInteger(options.lanes) && options.lanes >= 1 && options.lanes <= MAX_LANES)) {
    throw new UserError(`lanes must be a whole number from 1 to ${MAX_LANES} (got ${options.lanes})`);
  }

  const workDir = await fs.mkdtemp(path.join(options.tempDir ?? os.tmpdir(), `totesys-cdc-replay-${replayId}-`));
  const progress = progressReporter(options.onProgress);
  // Lanes need the processed bucket on other threads: a store that cannot be described (a
  // wrapper, a test double) keeps the rebuild on this thread.
  const processedStore = options.rebuild ? describeObjectStore(options.processed) : null;
  const lanes = processedStore ? (options.lanes ?? DEFAULT_LANES) : 1;
  let bulk: BulkLoad | null = null;
  let pool: Lanes | null = null;
  let rebuilt = false;
  try {
    logger.info('replay started', { ingestion: options.ingestion.location, processedPrefix, loadSchema, from: options.from, to: options.to, tables: options.tables });
    // The lanes start first (worker lanes boot while the archive is read); a rebuild then prepares
    // its schema (a warehouse that cannot be reached fails before the archive is read).
    pool = await startLanes({
      lanes,
      load: options.rebuild ? 'bulk' : 'live-schema',
      processed: options.processed,
      processedDescription: processedStore,
      processedPrefix,
      warehouseUrl: options.warehouseUrl,
      schema: loadSchema,
      batchSize,
      lockWaitMs: options.lockWaitMs,
      logger,
    });
    if (options.rebuild) bulk = await BulkLoad.open({ warehouseUrl: options.warehouseUrl, schema: loadSchema, processed: options.processed, logger });

    // 1. read
    progress.start('read', 'bytes');
    const archive = await openOrderedArchive({
      ingestion: options.ingestion,
      logger,
      from: options.from,
      to: options.to,
      tables: options.tables,
      tempDir: path.join(workDir, 'runs'),
      maxRunBytes: options.maxRunBytes,
      limits: options.limits,
      onScanProgress: (p) => progress.update(p.bytesDone, p.bytesTotal, p.eventsRead),
    }).catch(async (error: unknown) => {
      if (error instanceof RangeError) throw new UserError(error.message, { cause: error });
      throw error;
    });
    logger.info('archive read', { files: archive.scan.files, eventsRead: archive.scan.eventsRead, issues: archive.issues.total });

    // 2. process and 3. load, overlapped: the loader (mostly Postgres's CPU) loads the manifests
    // already written while the processor (this process's CPU) writes the next ones.
    progress.start('process', 'events');
    const { eventsReplayed, manifests, rowsLoaded, loadFailures, bulkLoaded } = await processArchive({ archive, lanes: pool, progress, logger }).catch((error: unknown) => {
      if (error instanceof LaneError && error.failedManifest) {
        throw new ReplayError(`rebuild not swapped in: manifest ${error.failedManifest} failed to load into ${loadSchema} (${errorMessage(error)}); the live schema is unchanged`, replayId, { retryable: false, cause: error });
      }
      if (error instanceof LoaderLockedError) throw new ReplayError(error.message, replayId, { retryable: true, cause: error });
      throw error;
    });
    await pool.close();
    for (const loaded of bulkLoaded) bulk?.absorb(loaded);
    if (options.rebuild && eventsReplayed === 0) {
      // Never swap an empty warehouse in because a selection matched nothing.
      throw new UserError(`nothing to replay: no valid events in ${options.ingestion.location} for this selection (${archive.scan.files} objects, ${archive.issues.total} issues); the live schema is unchanged`);
    }
    const reconciles = archive.reconciles.inVersionOrder();
    let reconciled = { applied: 0, rowsDeleted: 0 };
    if (bulk) {
      await bulk.finish({ reconciles }).then((done) => {
        reconciled = { applied: done.reconciles, rowsDeleted: done.reconcileRowsDeleted };
      }, (error: unknown) => {
        throw new ReplayError(`rebuild not swapped in: completing ${loadSchema} failed (${errorMessage(error)}); the live schema is unchanged`, replayId, { retryable: isRetryable(error), cause: error });
      });
      rebuilt = true;
    } else if (reconciles.length > 0) {
      reconciled = await applyReconcilesToSchema(options.warehouseUrl, loadSchema, reconciles, logger, options.lockWaitMs ?? REPLAY_LOCK_WAIT_MS).catch((error: unknown) => {
        if (error instanceof LoaderLockedError) throw new ReplayError(`${error.message}: the events are loaded, the reconciles not yet (replay again to apply them)`, replayId, { retryable: true, cause: error });
        throw error;
      });
    }

    let swap: SchemaSwapResult | null = null;
    if (options.rebuild) {
      progress.start('swap', 'manifests');
      swap = await swapSchemas(options.warehouseUrl, loadSchema, liveSchema, oldSchema);
      logger.info('rebuilt warehouse swapped in', { ...swap });
    }

    const finished = now();
    const durationMs = performance.now() - startedMs;
    const issues = archive.issues;
    const report: ReplayReport = {
      replayId,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      partial: issues.total > 0 || loadFailures.length > 0,
      selection: { from: options.from?.toISOString() ?? null, to: options.to?.toISOString() ?? null, tables: options.tables ?? null, rebuild: !!options.rebuild },
      files: archive.scan.files,
      compressedBytes: archive.scan.compressedBytes,
      uncompressedBytes: archive.scan.uncompressedBytes,
      lines: archive.scan.lines,
      eventsRead: archive.scan.eventsRead,
      otherRecords: archive.scan.otherRecords,
      reconcileRecords: archive.scan.reconcileRecords,
      duplicates: archive.merge.duplicates,
      eventsReplayed,
      sortRuns: archive.merge.runs,
      lanes,
      manifests,
      rowsLoaded,
      reconciles: reconciles.length,
      reconcilesApplied: reconciled.applied,
      reconcileRowsDeleted: reconciled.rowsDeleted,
      loadFailures,
      issueCount: issues.total,
      issueCounts: issues.counts,
      issues: issues.issues,
      issuesTruncated: issues.truncated,
    };
    await options.processed.put(reportKey, JSON.stringify(report, null, 2) + '\n');
    const summary: ReplaySummary = { ...report, processedPrefix, reportKey, loadSchema, swap, durationMs, eventsPerSecond: eventsReplayed / Math.max(durationMs / 1000, 1e-3) };
    logger[report.partial ? 'warn' : 'info']('replay finished', { ...summary, issues: undefined, loadFailures: loadFailures.length });
    return summary;
  } catch (error) {
    // An unfinished rebuild schema is of no use (a rebuild never resumes): drop it, once no lane
    // loads into it any more. A complete one whose swap failed is kept, so the swap can be done by hand.
    await pool?.close();
    if (bulk && !rebuilt) await dropSchema(options.warehouseUrl, loadSchema).catch((dropError: unknown) => logger.warn('could not drop the unfinished rebuild schema', { schema: loadSchema, error: dropError }));
    throw error;
  } finally {
    await pool?.close();
    await bulk?.close();
    await fs.rm(workDir, { recursive: true, force: true });
  }
}

async function dropSchema(warehouseUrl: string, schema: string): Promise<void> {
  const client = createPostgresClient({ url: warehouseUrl, applicationName: 'totesys-cdc-replay' });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * Step 4 into the live schema: one transaction under the loader's lock (a live loader applying
 * the same reconciles from its manifests must not interleave), skipping what the schema applied.
 */
async function applyReconcilesToSchema(warehouseUrl: string, schema: string, reconciles: readonly ReconcileRecord[], logger: Logger, lockWaitMs: number): Promise<{ applied: number; rowsDeleted: number }> {
  return withPostgresClient({ url: warehouseUrl, applicationName: 'totesys-cdc-replay' }, (client) =>
    inTransaction(client, async () => {
      // Waited for (a draining live loader sees the wait and ends its drain), up to lockWaitMs.
      if (!(await takeLoaderLock(client, schema, { waitMs: Math.max(1, lockWaitMs), scope: 'transaction' }))) throw new LoaderLockedError(schema);
      return applyReconcilesInOrder(client, schema, reconciles, logger);
    }),
  );
}
