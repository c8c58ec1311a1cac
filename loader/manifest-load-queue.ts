import type { BatchManifest } from '../contracts/manifest.js';
import type { WarehouseTable } from '../contracts/warehouse-model.js';
import type { ObjectStore } from '../bucket/object-store.js';
import { errorMessage, isRetryable, PipelineError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { METRIC } from '../platform/metrics.js';
import { PostgresConnectionError } from '../platform/postgres-client.js';
import type { ParquetReadLimits } from '../parquet/parquet-bounds.js';
import { recordFailure, type RetryPolicy } from './load-ledger.js';
import { fetchManifestRows, GroupConflictError, loadFetchedManifests, type FetchedManifest, type LoadManifestResult } from './load-manifest.js';
import { loadManifestsTogether } from './load-manifests-together.js';
import { readManifest } from './manifest-reader.js';
import type { WarehouseClient } from './warehouse-pool.js';

/** What a run has done so far (the run's LoadSummary, updated as manifests load, skip or fail). */
export interface LoadCounts {
  manifestsLoaded: number;
  manifestsSkipped: number;
  manifestsFailed: number;
  failures: { manifestKey: string; error: string; attempts: number; parked: boolean }[];
  rowsLoaded: number;
  eventsLoaded: number;
  rowsByTable: Partial<Record<WarehouseTable, number>>;
  inferredMembers: number;
  /** Newest source commit time among the manifests loaded so far (ISO), null before the first. */
  newestCommitTs: string | null;
}

export interface LoadKeysContext {
  store: ObjectStore;
  policy: RetryPolicy;
  logger: Logger;
  /** Counts of the run, updated as manifests load, skip or fail. */
  summary: LoadCounts;
  parquetLimits?: ParquetReadLimits;
  /**
   * Most manifests per transaction (default 1: one transaction each, as a scheduled loader has
   * always run; `sync` and `up` take CATCH_UP_MANIFESTS_PER_TRANSACTION).
   */
  maxManifestsPerTransaction?: number;
  /** A transaction takes no further manifest once it holds this many rows (default DEFAULT_MAX_ROWS_PER_TRANSACTION). */
  maxRowsPerTransaction?: number;
  /** Asked before each transaction starts: false stops here (a drain past its end), the rest is left for the next run. */
  mayStart?: () => boolean;
}

export const DEFAULT_MAX_MANIFESTS_PER_TRANSACTION = 1;
export const DEFAULT_MAX_ROWS_PER_TRANSACTION = 50_000;

/** One manifest read for loading (manifest, files, sha256, Parquet decode), or why it could not be read. */
interface ReadManifest {
  manifestKey: string;
  fetched?: FetchedManifest;
  batchId?: string;
  error?: unknown;
  rows: number;
}

/**
 * The loading end of a loader run, on the run's one connection: manifests go in (submit: read in
 * key order), transactions come out, one at a time, in the same order. Reading overlaps loading:
 * while Postgres runs (and commits) one transaction, the next manifests are read (bucket, sha256,
 * Parquet decode), and a drain lists the bucket again; what was read meanwhile is the next group.
 * Grouping (what the loaded warehouse does not depend on, only how fast it gets there):
 *  - consecutive manifests share a transaction, up to maxManifestsPerTransaction manifests or
 *    maxRowsPerTransaction rows (each keeps its own ledger row);
 *  - while a submit still has keys to read (a backlog), a group starts only once it is full, so a
 *    backlog loads in full groups; otherwise (the last key read, a lightly loaded drain) what is
 *    queued starts at once, and the manifests that arrive while it loads form the next group.
 * Order: manifests are read, grouped and loaded in submit order; a manifest that cannot be read is
 * recorded as failed in its turn, between transactions (one connection, never inside one).
 * A transaction that fails is rolled back and its manifests are loaded again one by one (loadGroup),
 * so a bad manifest fails alone. A lost connection or another retryable database error stops the
 * queue: nothing more starts and submit/finish throw it; the next run finds the same manifests.
 * Memory: one group loading, at most one full group waiting, and one manifest being read.
 */
export class ManifestLoadQueue {
  private readonly queue: ReadManifest[] = [];
  private readonly maxManifests: number;
  private readonly maxRows: number;
  private loading: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private stopped = false;
  /** A submit is reading and has keys after the ones queued: a group that is not full waits for them. */
  private moreToRead = false;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly client: WarehouseClient,
    private readonly schema: string,
    private readonly ctx: LoadKeysContext,
  ) {
    this.maxManifests = Math.max(1, ctx.maxManifestsPerTransaction ?? DEFAULT_MAX_MANIFESTS_PER_TRANSACTION);
    this.maxRows = Math.max(1, ctx.maxRowsPerTransaction ?? DEFAULT_MAX_ROWS_PER_TRANSACTION);
  }

  /** Nothing loading or queued: the run's connection is free until the next submit. */
  get isIdle(): boolean {
    return !this.loading && this.queue.length === 0;
  }

  /** True once a drain past its end (mayStart) or settle() stopped the queue: what is left waits for the next run. */
  get hasStopped(): boolean {
    return this.stopped;
  }

  /**
   * Reads `keys` in order and queues them; resolves once each is read and queued (loads may still
   * be going), or as soon as the queue stopped. Throws the error that stopped the run.
   */
  async submit(keys: readonly string[]): Promise<void> {
    this.throwIfFailed();
    try {
      for (let i = 0; i < keys.length && this.open(); i++) {
        // Backpressure: a complete group waiting (for the transaction before it) is enough read ahead.
        while (this.queue.length > 0 && this.groupEnd() !== -1 && this.open()) await this.change();
        if (!this.open()) break;
        const read = await readForLoad(keys[i]!, this.ctx);
        this.queue.push(read);
        this.moreToRead = i < keys.length - 1;
        this.kick();
      }
    } finally {
      this.moreToRead = false;
      this.kick();
    }
    this.throwIfFailed();
  }

  /** Resolves once everything queued is loaded (or the queue stopped); throws the error that stopped the run. */
  async finish(): Promise<void> {
    for (;;) {
      this.kick();
      if (!this.loading) break;
      await this.loading;
    }
    this.throwIfFailed();
  }

  /** Starts nothing more and waits for the transaction in progress: the run's connection is free afterwards. Never throws. */
  async settle(): Promise<void> {
    this.stopped = true;
    while (this.loading) await this.loading;
  }

  private open(): boolean {
    return !this.stopped && !this.failure;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private change(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private changed(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  /**
   * How many queued manifests the next group takes if it is complete (full, or ended by a manifest
   * that failed to read or would exceed the row cap); -1 when it could still grow; 0 when the head
   * failed to read.
   */
  private groupEnd(): number {
    let rows = 0;
    for (let i = 0; i < this.queue.length; i++) {
      const item = this.queue[i]!;
      if (item.error !== undefined) return i;
      if (i > 0 && rows + item.rows > this.maxRows) return i;
      rows += item.rows;
      if (i + 1 >= this.maxManifests) return i + 1;
    }
    return -1;
  }

  /** Starts the next job when the connection is free: a group's transaction, or recording a manifest that failed to read. */
  private kick(): void {
    if (this.loading || this.queue.length === 0 || !this.open()) return;
    const end = this.groupEnd();
    if (end === -1 && this.moreToRead) return; // a backlog: wait for a full group
    if (this.ctx.mayStart && !this.ctx.mayStart()) {
      this.stopped = true;
      this.changed();
      return;
    }
    let job: Promise<void>;
    if (end === 0) {
      const failed = this.queue.shift()!;
      job = stopsTheRun(failed.error) ? Promise.reject(failed.error) : recordManifestFailure(this.client, this.schema, failed.manifestKey, failed.batchId ?? null, failed.error, this.ctx);
    } else {
      const group = this.queue.splice(0, end === -1 ? this.queue.length : end).map((read) => read.fetched!);
      job = loadGroup(this.client, this.schema, group, this.ctx);
    }
    const running: Promise<void> = job
      .catch((error) => {
        this.failure ??= { error };
      })
      .finally(() => {
        if (this.loading === running) this.loading = undefined;
        this.changed();
        this.kick();
      });
    this.loading = running;
  }
}

async function readForLoad(manifestKey: string, ctx: LoadKeysContext): Promise<ReadManifest> {
  let batchId: string | undefined;
  try {
    const manifest = await readManifest(ctx.store, manifestKey);
    batchId = manifest.batchId;
    const fetched = await fetchManifestRows(ctx.store, manifestKey, manifest, ctx.parquetLimits);
    return { manifestKey, fetched, batchId, rows: manifest.files.reduce((n, f) => n + f.rows, 0) };
  } catch (error) {
    return { manifestKey, batchId, error, rows: 0 };
  }
}

async function loadGroup(client: WarehouseClient, schema: string, group: FetchedManifest[], ctx: LoadKeysContext): Promise<void> {
  try {
    // Set-based (one statement round per table for the group) unless a manifest carries reconcile
    // records: those apply after their own manifest's rows, so that group keeps per-manifest statements.
    const setBased = group.length > 1 && group.every((m) => (m.manifest.reconciles?.length ?? 0) === 0);
    const results = await (setBased ? loadManifestsTogether : loadFetchedManifests)(client, schema, group, ctx.logger);
    results.forEach((result, i) => countResult(ctx.summary, group[i]!.manifest, result));
    return;
  } catch (error) {
    if (stopsTheRun(error)) throw error;
    if (group.length === 1) {
      await recordManifestFailure(client, schema, group[0]!.manifestKey, group[0]!.manifest.batchId, error, ctx);
      return;
    }
  }
  // The group failed: one by one, so only the bad manifest fails.
  for (const fetched of group) {
    try {
      const [result] = await loadFetchedManifests(client, schema, [fetched], ctx.logger);
      countResult(ctx.summary, fetched.manifest, result!);
    } catch (error) {
      if (stopsTheRun(error)) throw error;
      await recordManifestFailure(client, schema, fetched.manifestKey, fetched.manifest.batchId, error, ctx);
    }
  }
}

/** Lost connection / deadlock / server shutdown: not the manifest's fault; stop the run, the next one retries. */
function stopsTheRun(error: unknown): boolean {
  return error instanceof PostgresConnectionError || (!(error instanceof PipelineError) && !(error instanceof GroupConflictError) && isRetryable(error));
}

function countResult(summary: LoadCounts, manifest: BatchManifest, result: LoadManifestResult): void {
  if (result.status === 'skipped') {
    summary.manifestsSkipped++;
    return;
  }
  summary.manifestsLoaded++;
  summary.eventsLoaded += manifest.eventCount;
  summary.inferredMembers += result.inferredMembers;
  for (const [table, count] of Object.entries(result.rows) as [WarehouseTable, number][]) {
    summary.rowsByTable[table] = (summary.rowsByTable[table] ?? 0) + count;
    summary.rowsLoaded += count;
  }
  // A watermark-only manifest holds no commit (its commit times are not recorded in the ledger either).
  if (manifest.eventCount > 0 && (summary.newestCommitTs === null || Date.parse(manifest.maxCommitTs) > Date.parse(summary.newestCommitTs))) {
    summary.newestCommitTs = manifest.maxCommitTs;
  }
}

async function recordManifestFailure(client: WarehouseClient, schema: string, manifestKey: string, batchId: string | null, error: unknown, ctx: LoadKeysContext): Promise<void> {
  const failure = await recordFailure(client, schema, manifestKey, batchId, errorMessage(error), ctx.policy);
  ctx.summary.manifestsFailed++;
  ctx.summary.failures.push({ manifestKey, error: errorMessage(error), attempts: failure.attempts, parked: failure.parked });
  const fields = { manifestKey, batchId, error, attempts: failure.attempts, metric: METRIC.loaderFailures };
  if (failure.parked) ctx.logger.error('manifest parked after repeated failures: repair the bucket, then requeue it', { ...fields, alarm: true });
  else ctx.logger.warn('manifest failed; will retry with backoff', fields);
}
