import { isRetryable } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { WarehouseTable } from '../contracts/warehouse-model.js';
import type { ObjectStore } from '../bucket/object-store.js';
import { abortableDelay } from '../platform/abortable-delay.js';
import { isManifestKey, manifestTimeOfKey, MANIFEST_PREFIX } from '../contracts/manifest-layout.js';
import { DEFAULT_LOOKBACK_MS, DEFAULT_RETRY_POLICY, findPendingManifests, listNewManifests, readWarehouseWatermark, type RetryPolicy } from './load-ledger.js';
import type { ParquetReadLimits } from '../parquet/parquet-bounds.js';
import type { ManifestWake } from './manifest-wake.js';
import { ManifestLoadQueue, type LoadKeysContext } from './manifest-load-queue.js';
import { DEFAULT_WAREHOUSE_SCHEMA, LEDGER_TABLE, LOADER_LOCK_CLASS, qualified } from './warehouse-ddl.js';
import { lockWanted, takeLoaderLock } from './loader-lock.js';
import { openWarehousePool, withPoolClient, type WarehouseClient, type WarehousePool, type WarehouseTarget } from './warehouse-pool.js';
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
 * picked up by the next run's first pass. A drain lists and reads while the transaction before is
 * loading (ManifestLoadQueue): a manifest written during a load is read by the time it ends.
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
  /**
   * Wait up to this long for another loader's lock instead of returning `locked` at once (replay
   * into the live schema while `up` runs). A draining run sees the wait and ends after its
   * transaction in progress (lockWanted), so the waiter gets the lock within about a second.
   */
  lockWaitMs?: number;
  /** In-process "manifest written" notices (`up`): a drain waiting for its next poll looks at once. */
  wake?: ManifestWake;
  /** Bounds on the Parquet files read (default DEFAULT_PARQUET_READ_LIMITS; see parquet-bounds.ts). */
  parquetLimits?: ParquetReadLimits;
  /** Manifests per transaction when several are pending (see loadManifestKeys). */
  maxManifestsPerTransaction?: number;
  maxRowsPerTransaction?: number;
  /**
   * A drain's progress: called with the run's summary so far (cumulative, like the one returned)
   * after its first pass and after each later pass once manifests were loaded, skipped or failed,
   * so a long drain's counts are seen as they happen rather than when it ends.
   */
  onProgress?: (summary: LoadSummary) => void;
};

/** Listing lookback of a drain's later polls (its first pass uses the full lookbackMs). */
export const DRAIN_POLL_LOOKBACK_MS = 10_000;
export const DEFAULT_POLL_INTERVAL_MS = 250;
/**
 * How often a drain lists the bucket while it is told the keys of new manifests (ManifestWake): a
 * safety net for a manifest nobody announced (a processor that died between its put and its
 * notice). Each listing reads the day's directory (20-50 ms locally at 1,000 changes/s), and a
 * notice that arrives meanwhile waits for it.
 */
export const NOTICED_LIST_INTERVAL_MS = 1_000;
/** How often a drain's progress reports re-read the ledger's newest commit and the watermarks. */
export const PROGRESS_READ_INTERVAL_MS = 1_000;

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
  /** Listing rounds (1 for a one-pass run) and the time they took (listing + ledger lookups). Not "passes": the logger masks keys that look like passwords. */
  listings: number;
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
    listings: 0,
    listingMs: 0,
    durationMs: 0,
  };
  const locked = await withPoolClient(pool, async (client) => {
    if (!(await takeLoaderLock(client, schema, { waitMs: options.lockWaitMs ?? 0, scope: 'session' }))) {
      logger.info('another loader is running; skipping this run');
      return false;
    }
    try {
      if (options.migrate !== false) await migrateWarehouseSchema(client, schema, logger);
      const lookbackMs = options.lookbackMs ?? DEFAULT_LOOKBACK_MS;
      const pollMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
      const drainUntil = options.drainUntilMs ?? 0;
      // Another loader waiting for the lock (a replay) ends the drain: nothing new starts, the run unlocks.
      let yielding = false;
      let lockCheckedMs = Number.NEGATIVE_INFINITY;
      const draining = () => Date.now() < drainUntil && !options.signal?.aborted && !yielding;
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
      const queue = new ManifestLoadQueue(client, schema, {
        store: options.processed,
        policy,
        logger,
        summary,
        parquetLimits: options.parquetLimits,
        maxManifestsPerTransaction: options.maxManifestsPerTransaction,
        maxRowsPerTransaction: options.maxRowsPerTransaction,
        // A drain starts no load after its end; a one-pass run loads what it found.
        mayStart: drainUntil > 0 ? draining : undefined,
      });
      try {
        let reported = -1;
        let progressRead = Number.NEGATIVE_INFINITY;
        // Notices taken up to this generation, and when the bucket was last listed.
        let noticedUpTo = options.wake?.generation ?? 0;
        let listedAt = Number.NEGATIVE_INFINITY;
        // Keys announced since the last listing: the processor is writing and telling, so the
        // listing is only the safety net and runs at most every NOTICED_LIST_INTERVAL_MS.
        let announced = false;
        const listEveryMs = () => (announced ? Math.max(pollMs, NOTICED_LIST_INTERVAL_MS) : pollMs);
        for (;;) {
          const generation = options.wake?.generation ?? 0;
          // Told the key of every manifest written since the last look, and listed less than a poll
          // interval ago: load those keys without a listing. The listing still runs every poll
          // interval (every NOTICED_LIST_INTERVAL_MS while keys are announced), so a manifest
          // nobody announced (another processor, a lost notice) waits at most that long.
          const noticed = !fullPassNeeded && performance.now() - listedAt < listEveryMs() ? options.wake?.keysSince(noticedUpTo) : undefined;
          noticedUpTo = generation;
          const fullPass: boolean = !noticed && (fullPassNeeded || Number.isNaN(newestMs));
          // A full pass reads the ledger on the run's one connection: no transaction may be open on it.
          if (fullPass) await queue.finish();
          const lookedAt = performance.now();
          let pending: string[];
          if (noticed) {
            pending = [...new Set(noticed)].filter((key) => key.startsWith(prefix) && isManifestKey(key) && !known.has(key)).sort().slice(0, limit);
            if (pending.length > 0) announced = true;
          } else {
            pending = fullPass
              ? await findPendingManifests(client, schema, options.processed, { prefix, lookbackMs, limit, onListed: remember })
              : await listNewManifests(options.processed, prefix, newestMs - Math.min(lookbackMs, DRAIN_POLL_LOOKBACK_MS), known, limit);
            // A listing cut at the limit: list again at once (a backlog), not from notices.
            listedAt = pending.length >= limit ? Number.NEGATIVE_INFINITY : lookedAt;
            announced = false;
            summary.listings++;
            summary.listingMs += performance.now() - lookedAt;
          }
          // A full pass cut at the limit listed keys it will not load now: they must not count as known.
          if (fullPass) fullPassNeeded = pending.length >= limit;
          for (const key of pending) remember(key);
          // Resolves once the keys are read and queued: the last transaction may still be loading.
          await queue.submit(pending);
          // Asked only between transactions (the run's one connection) and at most once a second.
          if (drainUntil > 0 && queue.isIdle && performance.now() - lockCheckedMs >= LOCK_WAITER_CHECK_MS) {
            lockCheckedMs = performance.now();
            yielding = await lockWanted(client, schema);
            if (yielding) logger.info('another loader is waiting for the lock; ending this drain early');
          }
          if (!draining() || queue.hasStopped) break;
          const done = summary.manifestsLoaded + summary.manifestsSkipped + summary.manifestsFailed;
          if (options.onProgress && done !== reported) {
            reported = done;
            // The ledger's newest commit and the watermarks, read only between transactions (one
            // connection) and at most once a PROGRESS_READ_INTERVAL_MS: the counts need no query.
            if (queue.isIdle && performance.now() - progressRead >= PROGRESS_READ_INTERVAL_MS) {
              progressRead = performance.now();
              Object.assign(summary, await readFreshness(client, schema), await readWarehouseWatermark(client, schema));
            }
            options.onProgress(progressOf(summary, started));
          }
          // Nothing new: wait a poll interval (loads go on meanwhile). Something new: look again at once (a backlog).
          if (pending.length === 0) {
            // Until the next listing is due; a notice since this look ends the wait at once (nothing
            // written meanwhile waits a poll interval).
            const waitMs = Math.min(options.wake ? Math.max(0, listedAt + listEveryMs() - performance.now()) : pollMs, drainUntil - Date.now());
            if (options.wake) await options.wake.wait(generation, waitMs, options.signal);
            else await abortableDelay(waitMs, options.signal);
          }
        }
        await queue.finish();
      } finally {
        // Never unlock or give the connection back with a transaction of this run still open.
        await queue.settle();
      }
      Object.assign(summary, await readFreshness(client, schema), await readWarehouseWatermark(client, schema));
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOADER_LOCK_CLASS, schema]).catch(() => {});
    }
    return true;
  });
  if (!locked) return { ...summary, status: 'locked', durationMs: performance.now() - started };
  summary.durationMs = performance.now() - started;
  const level = summary.manifestsFailed > 0 ? 'warn' : summary.manifestsLoaded > 0 ? 'info' : 'debug';
  logger[level]('loader run finished', { ...summary, failures: undefined });
  return summary;
}

const LOCK_WAITER_CHECK_MS = 1_000;

export { DEFAULT_MAX_MANIFESTS_PER_TRANSACTION, DEFAULT_MAX_ROWS_PER_TRANSACTION, type LoadKeysContext } from './manifest-load-queue.js';
/** What a loader that expects a backlog (sync) or a steady stream of manifests (up) asks for: one commit per up to 50 manifests. */
export const CATCH_UP_MANIFESTS_PER_TRANSACTION = 50;

/**
 * Loads `keys` in order, then returns: the queue of manifest-load-queue.ts (several manifests per
 * transaction, reading overlapped with loading, a bad manifest failing alone) for one list of keys.
 */
export async function loadManifestKeys(client: WarehouseClient, schema: string, keys: readonly string[], ctx: LoadKeysContext): Promise<void> {
  const queue = new ManifestLoadQueue(client, schema, ctx);
  try {
    await queue.submit(keys);
    await queue.finish();
  } finally {
    await queue.settle();
  }
}

/** A copy of the run's summary so far, its ages as of now. */
function progressOf(summary: LoadSummary, started: number): LoadSummary {
  const now = Date.now();
  const age = (iso: string | null) => (iso ? Math.max(0, now - Date.parse(iso)) : null);
  return {
    ...summary,
    failures: [...summary.failures],
    rowsByTable: { ...summary.rowsByTable },
    freshnessMs: age(summary.newestCommitTs),
    watermarkAgeMs: age(summary.watermarkTs),
    durationMs: performance.now() - started,
  };
}

async function readFreshness(client: WarehouseClient, schema: string): Promise<{ newestCommitTs: string | null; freshnessMs: number | null }> {
  const { rows } = await client.query<{ newest: Date | null }>(`SELECT max(max_commit_ts) AS newest FROM ${qualified(schema, LEDGER_TABLE)}`);
  const newest = rows[0]?.newest ?? null;
  return newest ? { newestCommitTs: newest.toISOString(), freshnessMs: Math.max(0, Date.now() - newest.getTime()) } : { newestCommitTs: null, freshnessMs: null };
}

export type LoaderLoopOptions = LoadPendingOptions & {
  intervalMs: number;
  /** > 0: each run drains this long (see loadPendingManifests) instead of one pass; with `wake` the default is WOKEN_DRAIN_WINDOW_MS. */
  drainWindowMs?: number;
  signal: AbortSignal;
  /** What each run did: called during a draining run too (its progress), each call counting only what the one before did not. */
  onSummary?: (summary: LoadSummary) => void;
  onError?: (error: unknown) => void;
};

/**
 * How long a run of a woken loop (`up`) drains: it keeps the lock and its listing state, so a
 * notice is answered by one LIST of the newest keys instead of a run's lock, full listing and
 * ledger queries; every run starts with a full pass (the safety net for anything a drain's polls
 * do not see: a key that sorts far back, a failed manifest whose backoff expired).
 */
export const WOKEN_DRAIN_WINDOW_MS = 60_000;

/**
 * The local schedule: a run every `intervalMs`; a tick that finds a run still in progress is
 * skipped (never two runs at once, never a backlog of ticks). With `wake`, each run drains (it
 * waits for notices and loads what they announce as it is written; its reads and listings overlap
 * its transactions), and a notice between runs starts one at once, or, at the end of a run, one
 * more right after it (notices coalesce: at most one waits). Resolves once `signal` is aborted and
 * the run in progress (if any) has finished. Run errors are reported, and the loop goes on.
 */
export async function runLoaderLoop(options: LoaderLoopOptions): Promise<void> {
  const { intervalMs, signal, onSummary, onError } = options;
  const { pool, close } = openWarehousePool(options);
  const runOptions: LoadPendingOptions = { ...options, pool, warehouseUrl: undefined } as LoadPendingOptions;
  const drainWindowMs = options.drainWindowMs || (options.wake ? WOKEN_DRAIN_WINDOW_MS : 0);
  let running: Promise<void> | undefined;
  let migrated = false;
  let again = false;
  const tick = () => {
    if (running || signal.aborted) return;
    const drainUntilMs = drainWindowMs > 0 ? Date.now() + drainWindowMs : undefined;
    // A drain reports as it goes; each report counts what the previous one of the run did not.
    let reported: LoadSummary | undefined;
    const report = (summary: LoadSummary) => {
      const delta = summaryDelta(summary, reported);
      reported = summary;
      onSummary?.(delta);
    };
    running = loadWithPool(pool, { ...runOptions, migrate: migrated ? false : options.migrate, drainUntilMs, onProgress: drainUntilMs ? report : undefined })
      .then((summary) => {
        if (summary.status === 'completed') migrated = true;
        report(summary);
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

/** `now` less what `before` (an earlier summary of the same run) already counted; ages and times as in `now`. */
export function summaryDelta(now: LoadSummary, before: LoadSummary | undefined): LoadSummary {
  if (!before) return now;
  const rowsByTable: LoadSummary['rowsByTable'] = {};
  for (const [table, rows] of Object.entries(now.rowsByTable) as [WarehouseTable, number][]) {
    const added = rows - (before.rowsByTable[table] ?? 0);
    if (added !== 0) rowsByTable[table] = added;
  }
  return {
    ...now,
    manifestsLoaded: now.manifestsLoaded - before.manifestsLoaded,
    manifestsSkipped: now.manifestsSkipped - before.manifestsSkipped,
    manifestsFailed: now.manifestsFailed - before.manifestsFailed,
    failures: now.failures.slice(before.failures.length),
    rowsLoaded: now.rowsLoaded - before.rowsLoaded,
    eventsLoaded: now.eventsLoaded - before.eventsLoaded,
    rowsByTable,
    inferredMembers: now.inferredMembers - before.inferredMembers,
    listings: now.listings - before.listings,
    listingMs: now.listingMs - before.listingMs,
  };
}

