import type { Worker } from 'node:worker_threads';
import { abortableDelay } from '../platform/abortable-delay.js';
import type { Config } from '../platform/config.js';
import { PipelineError, type ErrorCategory } from '../platform/errors.js';
import type { LogFields, Logger } from '../platform/logger.js';
import { startWorker, workerScript } from '../platform/worker-thread.js';

/**
 * A pipeline stage of `up`/`sync` on a worker thread (the processor: processor-thread.ts; sync's
 * archiver: archiver-thread.ts): the worker runs the same stage function as in process, with its
 * own consumer, so checkpoints, retries and quarantine are the in-process ones. What they share is
 * here: the worker's data, the messages every stage worker sends (its log lines, its end), and the
 * loop that starts a worker that died again after a pause, from its consumer's checkpoint (what it
 * had not checkpointed is done again, idempotently, as after a crash of the whole process).
 */
export interface StageWorkerData<O = undefined> {
  config: Readonly<Config>;
  /** The parent logger's bound fields are added by the parent; the worker only sends level, message, fields. */
  logLevel: Config['logLevel'];
  /** The stage's own settings (sync's archiver: its flush interval). */
  options: O;
}

export type ToStageWorker = { type: 'stop' };

/** What every stage worker sends besides its own messages. */
export type StageWorkerMessage =
  /** A JSON log line of the worker's logger, re-emitted by the parent's logger. */
  | { type: 'log'; line: string }
  /** The stage threw (what it would have thrown in process), after closing its consumer. */
  | { type: 'failed'; message: string; stack?: string; category: ErrorCategory };

export type StageWorkerRun = { outcome: 'done' } | { outcome: 'failed'; error: Error } | { outcome: 'died'; reason: string };

const RESTART_DELAY_MS = { first: 1_000, max: 30_000 };

/**
 * Makes a stage worker's script (bundling it, platform/worker-thread.ts) ahead of the stage, e.g.
 * while `sync` captures: the stage then starts its worker at once. Idempotent; a failure here is
 * seen again (and thrown) by the stage.
 */
export function prepareStageThread(module: URL): void {
  workerScript(module).catch(() => undefined);
}

export interface StageThreadOptions<M extends { type: string }, O> {
  /** 'processor', 'archiver': names the thread in logs and its CPU profile (workerExecArgv). */
  stage: string;
  module: URL;
  config: Readonly<Config>;
  workerOptions: O;
  logger: Logger;
  signal: AbortSignal;
  /** The stage's own messages: the run's end when the message says so ('done', a failure). */
  onMessage: (message: M) => StageWorkerRun | undefined;
  /** Before each (re)start, e.g. to count from where the last worker stopped. */
  onStart?: () => void;
  restartDelayMs?: number;
  /** Tests: a worker that dies. */
  onWorker?: (worker: Worker) => void;
}

/**
 * Runs the stage on a worker thread until `signal` is aborted and the worker has stopped cleanly;
 * throws what the stage threw. A worker that dies (an uncaught error, out of memory) is started
 * again after a pause that doubles up to 30 s.
 */
export async function runStageThread<M extends { type: string }, O = undefined>(options: StageThreadOptions<M, O>): Promise<void> {
  const { config, logger, signal } = options;
  const script = await workerScript(options.module);
  let delayMs = options.restartDelayMs ?? RESTART_DELAY_MS.first;
  while (!signal.aborted) {
    options.onStart?.();
    const workerData: StageWorkerData<O> = { config, logLevel: config.logLevel, options: options.workerOptions };
    const worker = startWorker(script, { workerData, execArgv: workerExecArgv(process.execArgv, options.stage) });
    options.onWorker?.(worker);
    const run = await watchWorker(worker, logger, signal, options.onMessage);
    if (run.outcome === 'done') return;
    if (run.outcome === 'failed') throw run.error;
    if (signal.aborted) return;
    logger.error(`${options.stage} thread died; starting it again from its checkpoint`, { error: run.reason, restartInMs: delayMs });
    await abortableDelay(delayMs, signal);
    delayMs = Math.min(RESTART_DELAY_MS.max, delayMs * 2);
  }
}

function watchWorker<M extends { type: string }>(worker: Worker, logger: Logger, signal: AbortSignal, onMessage: (message: M) => StageWorkerRun | undefined): Promise<StageWorkerRun> {
  return new Promise((resolve) => {
    let result: StageWorkerRun | undefined;
    let crash: string | undefined;
    const stop = () => worker.postMessage({ type: 'stop' } satisfies ToStageWorker);
    signal.addEventListener('abort', stop, { once: true });
    worker.on('message', (message: M | StageWorkerMessage) => {
      if (message.type === 'log') relayLogLine(logger, (message as { line: string }).line);
      const end = onMessage(message as M);
      if (message.type === 'failed') result = { outcome: 'failed', error: stageError(message as Extract<StageWorkerMessage, { type: 'failed' }>) };
      else if (end) result = end;
    });
    worker.on('error', (error) => (crash ??= error.message));
    worker.on('exit', (code) => {
      signal.removeEventListener('abort', stop);
      resolve(result ?? { outcome: 'died', reason: crash ?? `exited with code ${code}` });
    });
  });
}

function stageError(message: Extract<StageWorkerMessage, { type: 'failed' }>): Error {
  const error = new PipelineError(message.message, { category: message.category });
  if (message.stack) error.stack = message.stack;
  return error;
}

/**
 * The worker's node options: undefined (the parent's are inherited) unless the parent profiles
 * with a fixed `--cpu-prof-name`: every thread would write its profile to that one name, the main
 * thread's last (bench:catchup's BENCH_CPU_PROF showed no processor profile). Then the worker gets
 * the parent's `--cpu-prof*` options alone, its name with a `-<stage>` suffix. Only those: given
 * explicitly, an option a worker does not take (a V8 flag such as --trace-gc) would make the
 * Worker constructor throw, where inheriting it does not.
 */
export function workerExecArgv(parent: readonly string[], stage: string): string[] | undefined {
  if (!parent.some((arg) => arg === '--cpu-prof-name' || arg.startsWith('--cpu-prof-name='))) return undefined;
  const suffixed = (name: string) => (/\.cpuprofile$/.test(name) ? name.replace(/\.cpuprofile$/, `-${stage}.cpuprofile`) : `${name}-${stage}`);
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

/** A JSON line of the worker's logger, through the parent's logger (its bound fields, level and sink). */
function relayLogLine(logger: Logger, line: string): void {
  try {
    const { level, message, time: _time, service: _service, ...fields } = JSON.parse(line) as LogFields & { level: 'debug' | 'info' | 'warn' | 'error'; message: string };
    logger[level](message, fields);
  } catch {
    logger.warn('unreadable log line from a stage thread', { line: line.slice(0, 200) });
  }
}
