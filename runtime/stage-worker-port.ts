import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, type Logger } from '../platform/logger.js';
import type { StageWorkerData, StageWorkerMessage, ToStageWorker } from './stage-thread.js';

/**
 * The worker's side of a stage thread (stage-thread.ts): its data, a post to the parent, a signal
 * the parent's `stop` aborts, a logger whose lines go to the parent's logger, and `started`,
 * which a held worker's stage awaits (the parent's `go`, or `stop`). `release` when the stage
 * has ended: the thread then exits once its last message is out.
 */
export function stageWorkerPort<From extends { type: string }, O = undefined>(): {
  data: StageWorkerData<O>;
  post: (message: From | StageWorkerMessage) => void;
  stop: AbortSignal;
  started: Promise<void>;
  logger: Logger;
  release: () => void;
} {
  const data = workerData as StageWorkerData<O>;
  const port = parentPort!;
  const post = (message: From | StageWorkerMessage) => port.postMessage(message);
  const stop = new AbortController();
  let go: (() => void) | undefined;
  const started = data.held ? new Promise<void>((resolve) => (go = resolve)) : Promise.resolve();
  port.on('message', (message: ToStageWorker) => {
    if (message.type === 'stop') stop.abort();
    go?.();
  });
  const logger = createLogger({ service: 'totesys-cdc', level: data.logLevel, write: (line) => post({ type: 'log', line }) });
  return { data, post, stop: stop.signal, started, logger, release: () => port.unref() };
}
