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
import { loadManifest, type LoadManifestResult } from './load-manifest.js';
import { GROUP_LIMITS, groupManifests, loadManifestsTogether, type ManifestToLoad } from './load-manifests-together.js';
import type { ParquetReadLimits } from '../parquet/parquet-bounds.js';
import { MANIFEST_PREFIX } from '../contracts/manifest-layout.js';
import { readManifest } from './manifest-reader.js';
import type { ManifestWake } from './manifest-wake.js';
import { DEFAULT_WAREHOUSE_SCHEMA, LEDGER_TABLE, qualified } from './warehouse-ddl.js';
import { openWarehousePool, type WarehouseClient, type WarehousePool, type WarehouseTarget } from './warehouse-pool.js';
import { migrateWarehouseSchema } from './warehouse-schema.js';

/**
 * One loader run: take the loader lock, find the manifests not loaded yet, load them (several
 * small ones together in one transaction, load-manifests-together.ts; a group that fails is loaded
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
  /**
   * Most pending manifests loaded together in one transaction (load-manifests-together.ts). Default
   * 1: one transaction each, as the loader has always run; the draining Lambda and `up`, which see
   * several small manifests a second, take GROUP_LIMITS.maxManifests.
   */
  maxManifestsPerTransaction?: number;
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

/** Lock namespace of the loader; the key is the schema, so a replay into another schema is not blocked. */
const LOADER_LOCK_CLASS = 0x70ad;

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
        await loadInGroups(client, schema, pending, options.processed, policy, logger, summary, () => drainUntil > 0 && !draining(), options.maxManifestsPerTransaction ?? 1, options.parquetLimits);
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

/**
 * Loads `pending` (key order): the manifests are read together, then loaded in groups, each group
 * in one transaction (load-manifests-together.ts), so a backlog of small manifests costs one commit
 * per group. A group that fails is loaded again one manifest per transaction (loadOne), so a bad
 * manifest is recorded alone; so is a manifest that cannot be read. `stop` is checked before each group.
 */
async function loadInGroups(client: WarehouseClient, schema: string, pending: readonly string[], store: ObjectStore, policy: RetryPolicy, logger: Logger, summary: LoadSummary, stop: () => boolean, maxManifests: number, parquetLimits?: ParquetReadLimits): Promise<void> {
  if (maxManifests <= 1) {
    for (const manifestKey of pending) {
      if (stop()) return;
      await loadOne(client, schema, manifestKey, store, policy, logger, summary, parquetLimits);
    }
    return;
  }
  for (let at = 0; at < pending.length && !stop(); at += maxManifests) {
    const keys = pending.slice(at, at + maxManifests);
    const read = await Promise.allSettled(keys.map((manifestKey) => readManifest(store, manifestKey)));
    const readable: ManifestToLoad[] = [];
    for (const [index, outcome] of read.entries()) {
      if (outcome.status === 'fulfilled') readable.push({ manifestKey: keys[index], manifest: outcome.value });
      else await loadOne(client, schema, keys[index], store, policy, logger, summary, parquetLimits);
    }
    for (const group of groupManifests(readable, { ...GROUP_LIMITS, maxManifests })) {
      if (stop()) return;
      if (group.length === 1) {
        await loadOne(client, schema, group[0].manifestKey, store, policy, logger, summary, parquetLimits, group[0].manifest);
        continue;
      }
      try {
        const together = await loadManifestsTogether({ client, schema, store, group, logger, parquetLimits });
        summary.manifestsSkipped += together.skipped.length;
        summary.manifestsLoaded += together.loaded.length;
        countRows(summary, together.rows, together.inferredMembers);
      } catch (error) {
        if (isConnectionLoss(error)) throw error;
        logger.info('a group of manifests failed to load together; loading them one by one', { manifests: group.length, error: errorMessage(error) });
        for (const { manifestKey, manifest } of group) await loadOne(client, schema, manifestKey, store, policy, logger, summary, parquetLimits, manifest);
      }
    }
  }
}

/** Lost connection / deadlock / server shutdown: not the manifest's fault; the run stops and the next one retries. */
const isConnectionLoss = (error: unknown) => error instanceof PostgresConnectionError || (!(error instanceof PipelineError) && isRetryable(error));

function countLoad(summary: LoadSummary, result: LoadManifestResult): void {
  if (result.status === 'skipped') {
    summary.manifestsSkipped++;
    return;
  }
  summary.manifestsLoaded++;
  countRows(summary, result.rows, result.inferredMembers);
}

function countRows(summary: LoadSummary, rows: Partial<Record<WarehouseTable, number>>, inferredMembers: number): void {
  summary.inferredMembers += inferredMembers;
  for (const [table, count] of Object.entries(rows) as [WarehouseTable, number][]) {
    summary.rowsByTable[table] = (summary.rowsByTable[table] ?? 0) + count;
    summary.rowsLoaded += count;
  }
}

async function loadOne(client: WarehouseClient, schema: string, manifestKey: string, store: ObjectStore, policy: RetryPolicy, logger: Logger, summary: LoadSummary, parquetLimits?: ParquetReadLimits, alreadyRead?: BatchManifest): Promise<void> {
  let manifest: BatchManifest | undefined = alreadyRead;
  try {
    manifest ??= await readManifest(store, manifestKey);
    countLoad(summary, await loadManifest({ client, schema, store, manifestKey, manifest, logger, parquetLimits }));
  } catch (error) {
    if (isConnectionLoss(error)) throw error;
    const failure = await recordFailure(client, schema, manifestKey, manifest?.batchId ?? null, errorMessage(error), policy);
    summary.manifestsFailed++;
    summary.failures.push({ manifestKey, error: errorMessage(error), attempts: failure.attempts, parked: failure.parked });
    const fields = { manifestKey, batchId: manifest?.batchId, error, attempts: failure.attempts, metric: METRIC.loaderFailures };
    if (failure.parked) logger.error('manifest parked after repeated failures: repair the bucket, then requeue it', { ...fields, alarm: true });
    else logger.warn('manifest failed; will retry with backoff', fields);
  }
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
