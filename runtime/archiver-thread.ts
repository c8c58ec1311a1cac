import type { Worker } from 'node:worker_threads';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { ArchiverThreadOptions, FromArchiver } from './archiver-protocol.js';
import type { PipelineCounters } from './pipeline-counters.js';
import { prepareStageThread, runStageThread } from './stage-thread.js';

/**
 * `sync`'s archiver on a worker thread (archiver-worker.ts). On this thread it shared a core with
 * the loader, which in a first sync's last seconds only waits for Postgres and sends the next
 * statement: each archiver read and gzip callback that ran first delayed that statement, and
 * Postgres waited. On its own thread it runs beside the loader instead of between its
 * statements: a scale-10 first sync 16.7 → 15.1 s (median of five pairs, docs/performance.md,
 * round seven), a 100k-change catch-up about 10% faster. Same semantics as the
 * stage in process (runArchiverStage, which the worker runs): an object durable before its
 * records are checkpointed, everything buffered written at the stop; a worker that dies is
 * started again from its checkpoint (stage-thread.ts), re-archiving at most what it had not
 * checkpointed, as after a crash.
 */
const WORKER_MODULE = new URL('./archiver-worker.ts', import.meta.url);

/**
 * The nice value sync gives the archiver's thread (Linux, platform/thread-priority.ts) when its
 * capture took a snapshot: with the processor, the loader and Postgres it is one thread more than
 * the two cores, and then the loader (every row of the source) is the last stage to end, not the
 * archiver, so the archiver takes the cores' idle moments rather than turns. A scale-10 first
 * sync: 17.1, 16.2, 14.1, 14.7, 17.2 → 13.8, 13.4, 14.0, 14.6, 15.0 s, faster in five pairs of
 * five. Not in a catch-up from the WAL: there the processor and the archiver end together, and a
 * niced archiver ended 0.6-1.1 s after the processor instead of 0.05-0.25 s, giving back what
 * the processor gained (docs/performance.md, round eight).
 */
export const ARCHIVER_THREAD_NICENESS = 10;

/** The worker's script made ahead (stage-thread.ts prepareStageThread): sync, when its capture takes a snapshot. */
export function prepareArchiverThread(): void {
  prepareStageThread(WORKER_MODULE);
}

export async function runArchiverStageOnThread(
  config: Readonly<Config>,
  logger: Logger,
  signal: AbortSignal,
  counters: PipelineCounters,
  flushIntervalMs: number,
  options: { restartDelayMs?: number; onWorker?: (worker: Worker) => void; /** The thread's nice value (0: unchanged). */ niceness?: number } = {},
): Promise<void> {
  // Each worker counts from zero; the parent's counters go on from where they were.
  let base = { ...counters.archiver };
  const apply = (archiver: PipelineCounters['archiver']) => {
    counters.archiver.objects = base.objects + archiver.objects;
    counters.archiver.records = base.records + archiver.records;
  };
  await runStageThread<FromArchiver, ArchiverThreadOptions>({
    stage: 'archiver',
    module: WORKER_MODULE,
    config,
    workerOptions: { flushIntervalMs, niceness: options.niceness ?? 0 },
    logger,
    signal,
    restartDelayMs: options.restartDelayMs,
    onWorker: options.onWorker,
    onStart: () => (base = { ...counters.archiver }),
    onMessage: (message) => {
      if (message.type === 'archived') apply(message.archiver);
      if (message.type !== 'done') return undefined;
      apply(message.archiver);
      return { outcome: 'done' };
    },
  });
}
