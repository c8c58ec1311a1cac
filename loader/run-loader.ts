import { errorMessage, isRetryable, PipelineError } from '../platform/errors.js';
import { PostgresConnectionError } from '../platform/postgres-client.js';
import type { Logger } from '../platform/logger.js';
import type { BatchManifest } from '../contracts/manifest.js';
import { METRIC } from '../platform/metrics.js';
import type { WarehouseTable } from '../contracts/warehouse-model.js';
import type { ObjectStore } from '../bucket/object-store.js';
import { abortableDelay } from '../platform/abortable-delay.js';
import { manifestTimeOfKey } from '../contracts/manifest-layout.js';
import { DEFAULT_LOOKBACK_MS, DEFAULT_RETRY_POLICY, findPendingManifests, listNewManifests, readWarehouseWatermark, recordFailure, type RetryPolicy } from './load-ledger.js';
import { fetchManifestRows, GroupConflictError, loadFetchedManifests, type FetchedManifest, type LoadManifestResult } from './load-manifest.js';
import type { ParquetReadLimits } from '../parquet/parquet-bounds.js';
import { MANIFEST_PREFIX } from '../contracts/manifest-layout.js';
import { readManifest } from './manifest-reader.js';
import type { ManifestWake } from './manifest-wake.js';
import { loadManifestsTogether } from './load-manifests-together.js';
import { DEFAULT_WAREHOUSE_SCHEMA, LEDGER_TABLE, LOADER_LOCK_CLASS, qualified } from './warehouse-ddl.js';
import { openWarehousePool, type WarehouseClient, type WarehousePool, type WarehouseTarget } from './warehouse-pool.js';
import { migrateWarehouseSchema } from './warehouse-schema.js';

/**
 * One loader run: take the loader lock, find the manifests not loaded yet, load them (several
 * small ones together in one transaction, loadManifestKeys; a group that fails is loaded
 * again one per transaction, and a failed manifest is recorded and does not block later ones),
 * report a summary.
 * Exactly-once: the ledger (batchId) makes every manifest load at most once, the listing window
 * plus retries make it load at least once.
 *
 * Draining (drainUntilMs set): the run keeps the lock and goes on looking for new manifests every
 * pollIntervalMs until drainUntilMs, so a scheduled loader loads a manifest within a poll interval
 * of its arrival instead of at the next tick. No load STARTS after drainUntilMs (one in progress
 * finishes: the caller leaves room for it before the next run or the function's timeout). A run
 * killed mid-drain leaves at most one open transaction, which the server rolls back; the next run
 * finds that manifest again (not in the ledger). The first pass lists with the full lookback and
 * checks the ledger; later polls list only keys written at most DRAIN_POLL_LOOKBACK_MS before the
 * newest seen and drop the ones this run already listed (listNewManifests: one LIST, no query). A
 * key written later than that by a slow processor, and failed manifests whose backoff expires, are
 * picked up by the next run's first pass.
 */
export type LoadPendingOptions = WarehouseTarget & {
  processed: ObjectStore;
  logger: Logger;
  /** Warehouse schema (default `star`); replay loads into another one and swaps. */
  schema?: string;
  /** Manifest key prefix in the processed bucket (default `manifests/`). */
  prefix?: string;
  /** Most manifests loaded in one run (default 1000), so one run stays short. */
  maxManifests?: number;
  /** Listing lookback behind the newest loaded manifest (default 15 min, see load-ledger.ts). */
  lookbackMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Apply pending migrations first (default true; idempotent and cheap). */
  migrate?: boolean;
  /** Keep loading new manifests until this instant (epoch ms); absent or past: one pass. */
  drainUntilMs?: number;
  /** How often a draining run lists new manifests (default 250 ms). */
  pollIntervalMs?: number;
  /** Ends a drain early (the local loader's shutdown); the load in progress finishes. */
  signal?: AbortSignal;
  /** In-process "manifest written" notices (`up`): a drain waiting for its next poll looks at once. */
  wake?: ManifestWake;
  /** Bounds on the Parquet files read (default DEFAULT_PARQUET_READ_LIMITS; see parquet-bounds.ts). */
  parquetLimits?: ParquetReadLimits;
  /** Manifests per transaction when several are pending (see loadManifestKeys). */
  maxManifestsPerTransaction?: number;
  maxRowsPerTransaction?: number;
};

/** Listing lookback of a drain's later polls (its first pass uses the full lookbackMs). */
export const DRAIN_POLL_LOOKBACK_MS = 10_000;
export const DEFAULT_POLL_INTERVAL_MS = 250;

export interface ManifestFailure {
  manifestKey: string;
  error: string;
  attempts: number;
  parked: boolean;
}

export interface LoadSummary {
  /** `locked`: another loader holds the lock, nothing was done. */
  status: 'completed' | 'locked';
  schema: string;
  manifestsLoaded: number;
  manifestsSkipped: number;
  manifestsFailed: number;
  failures: ManifestFailure[];
  rowsLoaded: number;
  /** Change events in the manifests loaded (their eventCount). */
  eventsLoaded: number;
  rowsByTable: Partial<Record<WarehouseTable, number>>;
  inferredMembers: number;
  /** Newest source commit time in the warehouse (max over the ledger), ISO. */
  newestCommitTs: string | null;
  /** now − newestCommitTs. */
  freshnessMs: number | null;
  /** The warehouse watermark (contracts/watermark.ts): every change committed before it is loaded. */
  watermarkTs: string | null;
  /** now − watermarkTs: the freshness that stays true on a quiet source. */
  watermarkAgeMs: number | null;
  /** Listing passes (1 for a one-pass run) and the time they took (listing + ledger lookups). */
  passes: number;
  listingMs: number;
  durationMs: number;
}

export async function loadPendingManifests(options: LoadPendingOptions): Promise<LoadSummary> {
  const { pool, close } = openWarehousePool(options);
  try {
    return await loadWithPool(pool, options);
  } finally {
    await close();
  }
}

async function loadWithPool(pool: WarehousePool, options: LoadPendingOptions): Promise<LoadSummary> {
  const started = performance.now();
  const schema = options.schema ?? DEFAULT_WAREHOUSE_SCHEMA;
  const logger = options.logger.child({ schema });
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const summary: LoadSummary = {
    status: 'completed',
    schema,
    manifestsLoaded: 0,
    manifestsSkipped: 0,
    manifestsFailed: 0,
    failures: [],
    rowsLoaded: 0,
    eventsLoaded: 0,
    rowsByTable: {},
    inferredMembers: 0,
    newestCommitTs: null,
    freshnessMs: null,
    watermarkTs: null,
    watermarkAgeMs: null,
    passes: 0,
    listingMs: 0,
    durationMs: 0,
  };
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [LOADER_LOCK_CLASS, schema]);
    if (!rows[0].locked) {
      logger.info('another loader is running; skipping this run');
      return { ...summary, status: 'locked', durationMs: performance.now() - started };
    }
    try {
      if (options.migrate !== false) await migrateWarehouseSchema(client, schema, logger);
      const lookbackMs = options.lookbackMs ?? DEFAULT_LOOKBACK_MS;
      const pollMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
      const drainUntil = options.drainUntilMs ?? 0;
      const draining = () => Date.now() < drainUntil && !options.signal?.aborted;
      const prefix = options.prefix ?? MANIFEST_PREFIX;
      const limit = options.maxManifests ?? 1000;
      // Every key this run has listed, and the newest write time among them (a drain's later polls).
      const known = new Set<string>();
      let newestMs = Number.NaN;
      let fullPassNeeded = true;
      const remember = (key: string) => {
        known.add(key);
        const ms = manifestTimeOfKey(key);
        if (!(ms <= newestMs)) newestMs = Number.isNaN(newestMs) ? ms : Math.max(ms, newestMs);
      };
      for (;;) {
        const generation = options.wake?.generation ?? 0;
        const listed = performance.now();
        const fullPass: boolean = fullPassNeeded || Number.isNaN(newestMs);
        const pending: string[] = fullPass
          ? await findPendingManifests(client, schema, options.processed, { prefix, lookbackMs, limit, onListed: remember })
          : await listNewManifests(options.processed, prefix, newestMs - Math.min(lookbackMs, DRAIN_POLL_LOOKBACK_MS), known, limit);
        // A full pass cut at the limit listed keys it will not load now: they must not count as known.
        if (fullPass) fullPassNeeded = pending.length >= limit;
        for (const key of pending) remember(key);
        summary.passes++;
        summary.listingMs += performance.now() - listed;
        const before = summary.manifestsLoaded + summary.manifestsFailed;
        // A drain starts no load after its end; a one-pass run loads what it found.
        await loadManifestKeys(client, schema, pending, {
          store: options.processed,
          policy,
          logger,
          summary,
          parquetLimits: options.parquetLimits,
          maxManifestsPerTransaction: options.maxManifestsPerTransaction,
          maxRowsPerTransaction: options.maxRowsPerTransaction,
          mayStart: drainUntil > 0 ? draining : undefined,
        });
        if (!draining()) break;
        // Nothing new: wait a poll interval. Something loaded: look again at once (a backlog).
        if (summary.manifestsLoaded + summary.manifestsFailed === before) {
          const waitMs = Math.min(pollMs, drainUntil - Date.now());
          // A notice since this pass's listing ends the wait at once: nothing written meanwhile waits a poll interval.
          if (options.wake) await options.wake.wait(generation, waitMs, options.signal);
          else await abortableDelay(waitMs, options.signal);
        }
      }
      Object.assign(summary, await readFreshness(client, schema), await readWarehouseWatermark(client, schema));
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOADER_LOCK_CLASS, schema]).catch(() => {});
    }
  } catch (error) {
    broken = error as Error;
    throw error;
  } finally {
    // A client whose connection failed is discarded, not returned to the pool.
    client.release(broken && isRetryable(broken) ? broken : undefined);
  }
  summary.durationMs = performance.now() - started;
  const level = summary.manifestsFailed > 0 ? 'warn' : summary.manifestsLoaded > 0 ? 'info' : 'debug';
  logger[level]('loader run finished', { ...summary, failures: undefined });
  return summary;
}

export interface LoadKeysContext {
  store: ObjectStore;
  policy: RetryPolicy;
  logger: Logger;
  /** Counts of the run, updated as manifests load, skip or fail. */
  summary: LoadSummary;
  parquetLimits?: ParquetReadLimits;
  /**
   * Most manifests per transaction (default 1: one transaction each, as a scheduled loader has
   * always run; `sync` takes CATCH_UP_MANIFESTS_PER_TRANSACTION).
   */
  maxManifestsPerTransaction?: number;
  /** A transaction takes no further manifest once it holds this many rows (default DEFAULT_MAX_ROWS_PER_TRANSACTION). */
  maxRowsPerTransaction?: number;
  /** Asked before each transaction starts: false stops here (a drain past its end), the rest is left for the next run. */
  mayStart?: () => boolean;
}

export const DEFAULT_MAX_MANIFESTS_PER_TRANSACTION = 1;
export const DEFAULT_MAX_ROWS_PER_TRANSACTION = 50_000;
/** What a loader that expects a backlog (sync) asks for: one commit per up to 50 manifests. */
export const CATCH_UP_MANIFESTS_PER_TRANSACTION = 50;

interface ReadManifest {
  manifestKey: string;
  fetched?: FetchedManifest;
  batchId?: string;
  error?: unknown;
  rows: number;
}

/**
 * Loads `keys` in order (the caller's pending list). Two things make a backlog fast without
 * changing what is loaded:
 *  - consecutive manifests share a transaction, up to maxManifestsPerTransaction manifests or
 *    maxRowsPerTransaction rows (each keeps its own ledger row; loadFetchedManifests): one commit,
 *    one round of staging tables, instead of one per manifest;
 *  - the next manifests are read (bucket, sha256, Parquet decode) while Postgres loads the
 *    transaction before, so this process's work overlaps the database's.
 * A transaction that fails is rolled back and its manifests are loaded again one by one, so a bad
 * manifest is recorded as failed alone (as before: it does not block later ones) and the others
 * load. A lost connection or another retryable database error stops the run (thrown); the next
 * run finds the same manifests. Memory: the manifests of at most two transactions and one read ahead.
 */
export async function loadManifestKeys(client: WarehouseClient, schema: string, keys: readonly string[], ctx: LoadKeysContext): Promise<void> {
  const maxManifests = Math.max(1, ctx.maxManifestsPerTransaction ?? DEFAULT_MAX_MANIFESTS_PER_TRANSACTION);
  const maxRows = Math.max(1, ctx.maxRowsPerTransaction ?? DEFAULT_MAX_ROWS_PER_TRANSACTION);
  const read = async (manifestKey: string): Promise<ReadManifest> => {
    let batchId: string | undefined;
    try {
      const manifest = await readManifest(ctx.store, manifestKey);
      batchId = manifest.batchId;
      const fetched = await fetchManifestRows(ctx.store, manifestKey, manifest, ctx.parquetLimits);
      return { manifestKey, fetched, batchId, rows: manifest.files.reduce((n, f) => n + f.rows, 0) };
    } catch (error) {
      return { manifestKey, batchId, error, rows: 0 };
    }
  };
  let loading: Promise<void> | undefined;
  let stopped = false;
  /** Starts loading `group` once the transaction before it is done (one connection: one at a time). */
  const startLoad = async (group: FetchedManifest[]) => {
    await loading;
    if (stopped || (ctx.mayStart && !ctx.mayStart())) {
      stopped = true;
      return;
    }
    loading = loadGroup(client, schema, group, ctx);
    loading.catch(() => {}); // awaited before the next load or at the end
  };
  let group: FetchedManifest[] = [];
  let groupRows = 0;
  let next = 0;
  let ahead = keys.length > 0 ? read(keys[next++]!) : undefined;
  while (ahead && !stopped) {
    const current = await ahead;
    ahead = next < keys.length ? read(keys[next++]!) : undefined;
    if (current.error !== undefined) {
      if (group.length > 0) await startLoad(group.splice(0));
      groupRows = 0;
      await loading;
      if (stopped) break;
      if (stopsTheRun(current.error)) throw current.error;
      await recordManifestFailure(client, schema, current.manifestKey, current.batchId ?? null, current.error, ctx);
      continue;
    }
    if (group.length > 0 && (group.length >= maxManifests || groupRows + current.rows > maxRows)) {
      await startLoad(group);
      group = [];
      groupRows = 0;
    }
    group.push(current.fetched!);
    groupRows += current.rows;
  }
  if (group.length > 0 && !stopped) await startLoad(group);
  await loading;
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

function countResult(summary: LoadSummary, manifest: BatchManifest, result: LoadManifestResult): void {
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
}

async function recordManifestFailure(client: WarehouseClient, schema: string, manifestKey: string, batchId: string | null, error: unknown, ctx: LoadKeysContext): Promise<void> {
  const failure = await recordFailure(client, schema, manifestKey, batchId, errorMessage(error), ctx.policy);
  ctx.summary.manifestsFailed++;
  ctx.summary.failures.push({ manifestKey, error: errorMessage(error), attempts: failure.attempts, parked: failure.parked });
  const fields = { manifestKey, batchId, error, attempts: failure.attempts, metric: METRIC.loaderFailures };
  if (failure.parked) ctx.logger.error('manifest parked after repeated failures: repair the bucket, then requeue it', { ...fields, alarm: true });
  else ctx.logger.warn('manifest failed; will retry with backoff', fields);
}

async function readFreshness(client: WarehouseClient, schema: string): Promise<{ newestCommitTs: string | null; freshnessMs: number | null }> {
  const { rows } = await client.query<{ newest: Date | null }>(`SELECT max(max_commit_ts) AS newest FROM ${qualified(schema, LEDGER_TABLE)}`);
  const newest = rows[0]?.newest ?? null;
  return newest ? { newestCommitTs: newest.toISOString(), freshnessMs: Math.max(0, Date.now() - newest.getTime()) } : { newestCommitTs: null, freshnessMs: null };
}

export type LoaderLoopOptions = LoadPendingOptions & {
  intervalMs: number;
  /** > 0: each run drains this long (see loadPendingManifests) instead of one pass. */
  drainWindowMs?: number;
  signal: AbortSignal;
  onSummary?: (summary: LoadSummary) => void;
  onError?: (error: unknown) => void;
};

/**
 * The local schedule: a run every `intervalMs`; a tick that finds a run still in progress is
 * skipped (never two runs at once, never a backlog of ticks). With `wake`, a manifest notice starts
 * a run at once, or, during a run, one more right after it (notices coalesce: at most one waits),
 * so a manifest is loaded as soon as it is written instead of at the next tick. Resolves once
 * `signal` is aborted and the run in progress (if any) has finished. Run errors are reported, and
 * the loop goes on.
 */
export async function runLoaderLoop(options: LoaderLoopOptions): Promise<void> {
  const { intervalMs, signal, onSummary, onError } = options;
  const { pool, close } = openWarehousePool(options);
  const runOptions: LoadPendingOptions = { ...options, pool, warehouseUrl: undefined } as LoadPendingOptions;
  let running: Promise<void> | undefined;
  let migrated = false;
  let again = false;
  const tick = () => {
    if (running || signal.aborted) return;
    const drainUntilMs = options.drainWindowMs ? Date.now() + options.drainWindowMs : undefined;
    running = loadWithPool(pool, { ...runOptions, migrate: migrated ? false : options.migrate, drainUntilMs })
      .then((summary) => {
        if (summary.status === 'completed') migrated = true;
        onSummary?.(summary);
      })
      .catch((error) => {
        if (onError) onError(error);
        else options.logger.error('loader run failed', { error, retryable: isRetryable(error) });
      })
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          tick();
        }
      });
  };
  const woken = () => {
    if (running) again = true;
    else tick();
  };
  const unsubscribe = options.wake?.subscribe(woken);
  try {
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setInterval(tick, intervalMs);
      signal.addEventListener('abort', () => {
        clearInterval(timer);
        resolve();
      }, { once: true });
      tick();
    });
    unsubscribe?.();
    await running;
  } finally {
    unsubscribe?.();
    await close();
  }
}
