import type { Worker } from 'node:worker_threads';
import type { ManifestWake } from '../loader/manifest-wake.js';
import { abortableDelay } from '../platform/abortable-delay.js';
import type { Config } from '../platform/config.js';
import { PipelineError } from '../platform/errors.js';
import type { LogFields, Logger } from '../platform/logger.js';
import { startWorker, workerScript } from '../platform/worker-thread.js';
import type { PipelineCounters } from './pipeline-counters.js';
import type { FromProcessor, ProcessorWorkerData } from './processor-protocol.js';

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
 * Resolves once `signal` is aborted and the worker has finished its batch and stopped. A worker
 * that dies (an uncaught error, out of memory) is started again after a pause: it resumes from
 * the consumer's checkpoint, so a batch it had not checkpointed is processed again (idempotent,
 * as after a crash of the whole process). An error the stage itself throws (its consumer lock is
 * held by another process, say) is thrown here, as the in-process stage would.
 */
const WORKER_MODULE = new URL('./processor-worker.ts', import.meta.url);
const RESTART_DELAY_MS = { first: 1_000, max: 30_000 };

/**
 * Makes the worker's script (bundling it, platform/worker-thread.ts) ahead of the stage, e.g. while
 * `sync` captures: the stage then starts its worker at once. Idempotent; a failure here is seen
 * again (and thrown) by the stage.
 */
export function prepareProcessorThread(): void {
  workerScript(WORKER_MODULE).catch(() => undefined);
}

export async function runProcessorStageOnThread(
  config: Readonly<Config>,
  logger: Logger,
  signal: AbortSignal,
  counters: PipelineCounters,
  wake?: ManifestWake,
  options: { restartDelayMs?: number; onWorker?: (worker: Worker) => void; onIdle?: () => void } = {},
): Promise<void> {
  const script = await workerScript(WORKER_MODULE);
  let delayMs = options.restartDelayMs ?? RESTART_DELAY_MS.first;
  while (!signal.aborted) {
    const worker = startWorker(script, { workerData: { config, logLevel: config.logLevel } satisfies ProcessorWorkerData, execArgv: workerExecArgv(process.execArgv) });
    options.onWorker?.(worker); // tests: a worker that dies
    const run = await runWorker(worker, logger, signal, counters, wake, options.onIdle);
    if (run.outcome === 'done') return;
    if (run.outcome === 'failed') throw run.error;
    if (signal.aborted) return;
    logger.error('processor thread died; starting it again from its checkpoint', { error: run.reason, restartInMs: delayMs });
    await abortableDelay(delayMs, signal);
    delayMs = Math.min(RESTART_DELAY_MS.max, delayMs * 2);
  }
}

/**
 * The worker's node options: undefined (the parent's are inherited, as before) unless the parent
 * profiles with a fixed `--cpu-prof-name`: every thread would write its profile to that one name,
 * the main thread's last (bench:catchup's BENCH_CPU_PROF showed no processor profile). Then the
 * worker gets the parent's `--cpu-prof*` options alone, its name with a `-processor` suffix. Only
 * those: given explicitly, an option a worker does not take (a V8 flag such as --trace-gc) would
 * make the Worker constructor throw, where inheriting it does not.
 */
export function workerExecArgv(parent: readonly string[]): string[] | undefined {
  if (!parent.some((arg) => arg === '--cpu-prof-name' || arg.startsWith('--cpu-prof-name='))) return undefined;
  const out: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    const arg = parent[i]!;
    if (!arg.startsWith('--cpu-prof')) continue;
    if (arg.startsWith('--cpu-prof-name=')) out.push(`--cpu-prof-name=${suffixed(arg.slice('--cpu-prof-name='.length))}`);
    else if (arg === '--cpu-prof-name') out.push(arg, suffixed(parent[++i] ?? ''));
    else if (!arg.includes('=') && arg !== '--cpu-prof' && i + 1 < parent.length) out.push(arg, parent[++i]!); // --cpu-prof-dir <dir>, --cpu-prof-interval <us>
    else out.push(arg);
  }
  return out;
}

function suffixed(name: string): string {
  return /\.cpuprofile$/.test(name) ? name.replace(/\.cpuprofile$/, '-processor.cpuprofile') : `${name}-processor`;
}

type WorkerRun = { outcome: 'done' } | { outcome: 'failed'; error: Error } | { outcome: 'died'; reason: string };

function runWorker(worker: Worker, logger: Logger, signal: AbortSignal, counters: PipelineCounters, wake?: ManifestWake, onIdle?: () => void): Promise<WorkerRun> {
  // The worker counts from zero; the parent's counters go on from where they were (a restart adds to them).
  const base = { ...counters.processor };
  const apply = (processor: PipelineCounters['processor']) => {
    counters.processor.batches = base.batches + processor.batches;
    counters.processor.events = base.events + processor.events;
    counters.processor.quarantined = base.quarantined + processor.quarantined;
    counters.processor.lastBatchMs = processor.lastBatchMs ?? base.lastBatchMs;
  };
  return new Promise((resolve) => {
    let result: WorkerRun | undefined;
    let crash: string | undefined;
    const stop = () => worker.postMessage({ type: 'stop' });
    signal.addEventListener('abort', stop, { once: true });
    worker.on('message', (message: FromProcessor) => {
      switch (message.type) {
        case 'log':
          relayLogLine(logger, message.line);
          return;
        case 'batch':
          apply(message.processor);
          // Each key announced, so the loader reads it without listing the bucket.
          if (message.manifestKeys?.length) for (const key of message.manifestKeys) wake?.notify(key);
          else if (message.manifest) wake?.notify();
          return;
        case 'idle':
          onIdle?.();
          return;
        case 'done':
          apply(message.processor);
          result = { outcome: 'done' };
          return;
        case 'failed': {
          apply(message.processor);
          const error = new PipelineError(message.message, { category: message.category });
          if (message.stack) error.stack = message.stack;
          result = { outcome: 'failed', error };
          return;
        }
      }
    });
    worker.on('error', (error) => (crash ??= error.message));
    worker.on('exit', (code) => {
      signal.removeEventListener('abort', stop);
      resolve(result ?? { outcome: 'died', reason: crash ?? `exited with code ${code}` });
    });
  });
}

/** A JSON line of the worker's logger, through the parent's logger (its bound fields, level and sink). */
function relayLogLine(logger: Logger, line: string): void {
  try {
    const { level, message, time: _time, service: _service, ...fields } = JSON.parse(line) as LogFields & { level: 'debug' | 'info' | 'warn' | 'error'; message: string };
    logger[level](message, fields);
  } catch {
    logger.warn('unreadable log line from the processor thread', { line: line.slice(0, 200) });
  }
}
