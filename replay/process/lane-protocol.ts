import type { ObjectStoreDescription } from '../../bucket/object-store.js';
import type { LogFields } from '../../platform/logger.js';
import type { ArchiveIssue, ArchiveIssueKind } from '../replay-report.js';
import type { BulkLoaded } from './load-sink.js';

/**
 * What lanes (lane.ts) report, and what the main thread and a lane on a worker thread
 * (lanes.ts, lane-worker.ts) say to each other. Kept apart from the pool so the worker's code does
 * not load the pool's.
 */
export interface LaneWorkerData {
  lane: number;
  processed: ObjectStoreDescription;
  processedPrefix: string;
  warehouseUrl: string;
  schema: string;
  batchSize: number;
}

/** Merged lines, as the merge's MergedBatch hands them out: `text` back to back, each line's end, origin and flags. */
export interface LaneLines {
  count: number;
  text: Uint8Array;
  lineEnds: Uint32Array;
  origins: Float64Array;
  flags: Uint8Array;
}

/** Lines for one lane on a worker thread, plus each line's index in the merge. */
export interface LaneBatch extends LaneLines {
  seqs: Float64Array;
}

export interface LaneProgress {
  /** Events processed, duplicates dropped, deferred lines found invalid, manifests written. */
  events: number;
  duplicates: number;
  invalid: number;
  manifests: number;
}

export interface LaneIssue extends ArchiveIssue {
  seq: number;
}

export interface LaneResult extends LaneProgress {
  rowsLoaded: number;
  manifestsLoaded: number;
  /** Manifests the live-schema sink could not load (the replay is then partial). */
  loadFailures: { manifestKey: string; error: string }[];
  /** The lane's bulk loader's counts, for the opener to absorb. */
  loaded: BulkLoaded;
  /** The lane's first issues (at most MAX_LANE_ISSUES), in merge order; counts are exact. */
  issues: LaneIssue[];
  issueTotal: number;
  issueCounts: Partial<Record<ArchiveIssueKind, number>>;
}

/** `start` (once, first: the object keys by listing index, which origins name), then lines, then `end`. */
export type ToLane = { type: 'start'; files: readonly string[] } | { type: 'lines'; batch: LaneBatch } | { type: 'end' };

/** After `end`: `processed` once its last batch is processed, `done` once its loads are too. */
export type FromLane =
  | { type: 'ack' }
  | { type: 'progress'; progress: LaneProgress }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields?: LogFields }
  | { type: 'processed' }
  | { type: 'done'; result: LaneResult }
  | { type: 'failed'; message: string; stack?: string; retryable: boolean; failedManifest: string | null };

/** The report keeps 1000 issues verbatim: the first 1000 of the merge are among each lane's first 1000. */
export const MAX_LANE_ISSUES = 1000;
