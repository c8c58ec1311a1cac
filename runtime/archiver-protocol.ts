import type { PipelineCounters } from './pipeline-counters.js';
import type { StageWorkerMessage } from './stage-thread.js';

/** Messages between `sync` and the archiver on its worker thread (archiver-thread.ts; the shared ones in stage-thread.ts). */
export type FromArchiver =
  | StageWorkerMessage
  /** After objects were written: the worker's archiver counters so far. */
  | { type: 'archived'; archiver: PipelineCounters['archiver'] }
  /** The stage stopped cleanly (after `stop`), everything it had buffered written and checkpointed: its final counters. */
  | { type: 'done'; archiver: PipelineCounters['archiver'] };

export interface ArchiverThreadOptions {
  /** Firehose-like buffering time of the local archiver (runArchiverStage). */
  flushIntervalMs: number;
  /** The thread's nice value (platform/thread-priority.ts), 0 to leave it as it is: sync lowers it after a snapshot (archiver-thread.ts). */
  niceness: number;
}
