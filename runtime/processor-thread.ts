import type { Worker } from 'node:worker_threads';
import type { ManifestWake } from '../loader/manifest-wake.js';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { PipelineCounters } from './pipeline-counters.js';
import type { FromProcessor } from './processor-protocol.js';
import { prepareStageThread, runStageThread } from './stage-thread.js';

/**
 * `up`'s and `sync`'s stream processor on a worker thread (processor-worker.ts), so it has a core
 * of its own: in process, capture (sync), the archiver, the loader's Parquet reads and the
 * processor all shared this one thread, and a catch-up could not overlap capturing with
 * processing (profiled: the processor, taking small batches of a log it kept up with, slowed the
 * whole sync down). Same semantics as runProcessorStage in process (it is what the worker runs):
 * checkpoints only after durable writes, quarantine, retries with backoff; its counters arrive
 * after every batch, each manifest it writes notifies `wake`, and `onIdle` hears when a read found
 * nothing (everything before it checkpointed).
 *
 * Resolves once `signal` is aborted and the worker has finished its batch and stopped; a worker
 * that dies is started again from its checkpoint, and an error the stage itself throws (its
 * consumer lock is held by another process, say) is thrown here (stage-thread.ts).
 */
const WORKER_MODULE = new URL('./processor-worker.ts', import.meta.url);

/** The worker's script made ahead (stage-thread.ts prepareStageThread). */
export function prepareProcessorThread(): void {
  prepareStageThread(WORKER_MODULE);
}

export async function runProcessorStageOnThread(
  config: Readonly<Config>,
  logger: Logger,
  signal: AbortSignal,
  counters: PipelineCounters,
  wake?: ManifestWake,
  options: { restartDelayMs?: number; onWorker?: (worker: Worker) => void; onIdle?: () => void } = {},
): Promise<void> {
  // Each worker counts from zero; the parent's counters go on from where they were (a restart adds to them).
  let base = { ...counters.processor };
  const apply = (processor: PipelineCounters['processor']) => {
    counters.processor.batches = base.batches + processor.batches;
    counters.processor.events = base.events + processor.events;
    counters.processor.quarantined = base.quarantined + processor.quarantined;
    counters.processor.lastBatchMs = processor.lastBatchMs ?? base.lastBatchMs;
  };
  await runStageThread<FromProcessor>({
    stage: 'processor',
    module: WORKER_MODULE,
    config,
    workerOptions: undefined,
    logger,
    signal,
    restartDelayMs: options.restartDelayMs,
    onWorker: options.onWorker,
    onStart: () => (base = { ...counters.processor }),
    onMessage: (message) => {
      switch (message.type) {
        case 'batch':
          apply(message.processor);
          // Each key announced, so the loader reads it without listing the bucket.
          if (message.manifestKeys?.length) for (const key of message.manifestKeys) wake?.notify(key);
          else if (message.manifest) wake?.notify();
          return undefined;
        case 'idle':
          options.onIdle?.();
          return undefined;
        case 'done':
          apply(message.processor);
          return { outcome: 'done' };
        case 'failed':
          apply(message.processor);
          return undefined;
        default:
          return undefined;
      }
    },
  });
}
