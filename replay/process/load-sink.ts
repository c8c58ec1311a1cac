import type { ObjectStore } from '../../bucket/object-store.js';
import type { BatchManifest, ManifestFile } from '../../contracts/manifest.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import type { WarehouseTable } from '../../contracts/warehouse-model.js';
import type { BulkLoad } from '../../loader/bulk-load.js';
import { loadPendingManifests } from '../../loader/run-loader.js';
import { abortableDelay } from '../../platform/abortable-delay.js';
import { PipelineError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import { BackgroundLoads } from './background-loads.js';

/**
 * Step 3 of a replay, as a lane (lane.ts) sees it: where the manifests it writes go. The lane
 * hands each manifest over as soon as it is written and goes on processing; loading overlaps
 * processing (the loader is mostly Postgres's CPU, the processor this process's). Two sinks:
 *  - BulkLoadSink     a rebuild: the lane's own bulk loader (loader/bulk-load.ts, attached to the
 *                     schema replay opened) loads each manifest in the background, with the rows
 *                     the processor has just encoded; the first failure fails the lane;
 *  - LiveSchemaSink   a replay into the live schema: the incremental loader (idempotent: facts
 *                     dedupe by event id, dimensions are version-guarded) runs passes over the
 *                     replay's manifests while processing goes on; a failed manifest stops loading
 *                     and is reported (the replay is then partial), never thrown.
 */
export interface LoadSink {
  /** A manifest the lane has written, with its rows while the lane still holds them. Waits while the sink is behind. */
  add(manifestKey: string, manifest: BatchManifest, rowsOf: (file: ManifestFile) => readonly WarehouseRow[] | undefined): Promise<void>;
  /** Processing is over: resolves once every manifest is loaded (or loading stopped at a failure). */
  drain(): Promise<SinkResult>;
  /** The manifest whose load failed the lane, if any. */
  readonly failedManifest: string | null;
  /** Stops and releases everything; safe at any point, never throws. */
  close(): Promise<void>;
}

/** What a lane's loads did. `loaded` is the bulk loader's own count, for the opener to absorb. */
export interface SinkResult {
  rowsLoaded: number;
  manifestsLoaded: number;
  loadFailures: { manifestKey: string; error: string }[];
  loaded: BulkLoaded;
}

export interface BulkLoaded {
  manifests: number;
  rowsCopied: number;
  copied: Partial<Record<WarehouseTable, number>>;
}

const sumRows = (rows: Partial<Record<string, number>>) => Object.values(rows).reduce<number>((sum, n) => sum + (n ?? 0), 0);

/** Loads each manifest with a bulk loader of the lane's own (attached), in the background. Owns `bulk`. */
export class BulkLoadSink implements LoadSink {
  private readonly background = new BackgroundLoads();

  constructor(private readonly bulk: BulkLoad) {}

  add(manifestKey: string, manifest: BatchManifest, rowsOf: (file: ManifestFile) => readonly WarehouseRow[] | undefined): Promise<void> {
    return this.background.add(manifestKey, async () => sumRows(await this.bulk.load(manifestKey, manifest, rowsOf)));
  }

  async drain(): Promise<SinkResult> {
    const { rowsLoaded, loaded } = await this.background.drain();
    return { rowsLoaded, manifestsLoaded: loaded, loadFailures: [], loaded: this.bulk.loaded };
  }

  get failedManifest(): string | null {
    return this.background.failedManifest;
  }

  async close(): Promise<void> {
    await this.background.drain().catch(() => {});
    await this.bulk.close();
  }
}

/** Another loader holds the schema's lock (a live loader, or another replay): try again later. */
export class LoaderLockedError extends PipelineError {
  constructor(readonly schema: string) {
    super(`another loader holds the lock on schema ${schema}`, { retryable: true });
  }
}

/** How long replay waits for a live loader's lock into the live schema before giving up (retryable). */
export const REPLAY_LOCK_WAIT_MS = 120_000;

/** Far enough back that the loader lists every manifest of the replay prefix. */
const REPLAY_LOOKBACK_MS = 100 * 365 * 24 * 3_600_000;

export interface LiveSchemaSinkOptions {
  warehouseUrl: string;
  processed: ObjectStore;
  schema: string;
  processedPrefix: string;
  /** How long to wait for a live loader's lock (default REPLAY_LOCK_WAIT_MS). */
  lockWaitMs?: number;
  logger: Logger;
}

/**
 * The incremental loader over the replay's manifests, while processing goes on: passes run until
 * processing has finished and a pass that STARTED after that found nothing more (a pass that
 * started earlier may have listed before the last manifest was written). It takes the loader's
 * lock on the schema, so there is one per replay (replay into the live schema runs one lane).
 */
export class LiveSchemaSink implements LoadSink {
  private processingDone = false;
  private readonly loading: Promise<Omit<SinkResult, 'loaded'>>;

  constructor(private readonly options: LiveSchemaSinkOptions) {
    this.loading = this.loadWhileProcessing();
    this.loading.catch(() => {}); // awaited by drain(); a failure must not surface as an unhandled rejection meanwhile
  }

  async add(): Promise<void> {
    // The loader finds the manifest in the bucket by itself.
  }

  async drain(): Promise<SinkResult> {
    this.processingDone = true;
    const result = await this.loading;
    return { ...result, loaded: { manifests: 0, rowsCopied: 0, copied: {} } };
  }

  get failedManifest(): string | null {
    return null;
  }

  async close(): Promise<void> {
    this.processingDone = true;
    await this.loading.catch(() => {});
  }

  private async loadWhileProcessing(): Promise<Omit<SinkResult, 'loaded'>> {
    const { options } = this;
    let rowsLoaded = 0;
    let manifestsLoaded = 0;
    const loadFailures: { manifestKey: string; error: string }[] = [];
    for (;;) {
      const finalPass = this.processingDone;
      const result = await loadPendingManifests({
        warehouseUrl: options.warehouseUrl,
        processed: options.processed,
        logger: options.logger,
        schema: options.schema,
        prefix: `${options.processedPrefix}manifests/`,
        lookbackMs: REPLAY_LOOKBACK_MS,
        maxManifests: 200,
        retry: { maxAttempts: 1 },
        // A live loader (up) drains for a minute at a time; it ends its drain when it sees this wait.
        lockWaitMs: options.lockWaitMs ?? REPLAY_LOCK_WAIT_MS,
      });
      if (result.status === 'locked') throw new LoaderLockedError(options.schema);
      rowsLoaded += result.rowsLoaded;
      manifestsLoaded += result.manifestsLoaded;
      loadFailures.push(...result.failures.map((f) => ({ manifestKey: f.manifestKey, error: f.error })));
      if (result.manifestsFailed > 0) break;
      if (result.manifestsLoaded === 0) {
        if (finalPass) break;
        await abortableDelay(200);
      }
    }
    return { rowsLoaded, manifestsLoaded, loadFailures };
  }
}
