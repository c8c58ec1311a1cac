import type { WarehouseTable } from './warehouse-model.js';
import type { ShardWatermark } from './watermark.js';
import type { ManifestReconcile } from './reconcile.js';

/**
 * A processed batch (processor → loader contract). One manifest per batch, written after every file
 * it lists is durable; the loader treats the manifest's existence as "this batch is complete".
 * `batchId` is a content identity (hash of the batch's sorted event ids), so reprocessing the same
 * events yields the same batchId and the loader's ledger recognises it.
 */
export const MANIFEST_VERSION = 1 as const;

export interface ManifestFile {
  table: WarehouseTable;
  /** Object key in the processed bucket. */
  key: string;
  rows: number;
  bytes: number;
  /** sha256 of the file's bytes, hex: the loader refuses a file that does not match. */
  sha256: string;
}

export interface BatchManifest {
  v: typeof MANIFEST_VERSION;
  batchId: string;
  createdAt: string;
  eventCount: number;
  firstEventId: string;
  lastEventId: string;
  /** Earliest and latest source commit time of the batch's events (freshness). */
  minCommitTs: string;
  maxCommitTs: string;
  files: ManifestFile[];
  /**
   * The newest watermark (contracts/watermark.ts) of each shard whose records this batch ends, when
   * it saw one. A watermark-only manifest (an idle shard) has eventCount 0, no files, empty event
   * ids, and its commit times set to the newest watermark's time (it holds no commit).
   */
  watermarks?: ShardWatermark[];
  /**
   * The reconcile records (contracts/reconcile.ts) among the batch's records, each once with the
   * shards whose copy the batch read; the loader applies them in the manifest's transaction, after
   * its rows. A batch of only such records (and watermarks) is a manifest with no events, like a
   * watermark-only one.
   */
  reconciles?: ManifestReconcile[];
}
