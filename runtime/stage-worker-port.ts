import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, type Logger } from '../platform/logger.js';
import type { StageWorkerData, StageWorkerMessage, ToStageWorker } from './stage-thread.js';

/**
 * The worker's side of a stage thread (stage-thread.ts): its data, a post to the parent, a signal
 * the parent's `stop` aborts, and a logger whose lines go to the parent's logger. `release` when
 * the stage has ended: the thread then exits once its last message is out.
 */
export function stageWorkerPort<From extends { type: string }, O = undefined>(): {
  data: StageWorkerData<O>;
  post: (message: From | StageWorkerMessage) => void;
  stop: AbortSignal;
  logger: Logger;
  release: () => void;
} {
  const data = workerData as StageWorkerData<O>;
  const port = parentPort!;
  const post = (message: From | StageWorkerMessage) => port.postMessage(message);
  const stop = new AbortController();
  port.on('message', (message: ToStageWorker) => {
    if (message.type === 'stop') stop.abort();
  });
  const logger = createLogger({ service: 'totesys-cdc', level: data.logLevel, write: (line) => post({ type: 'log', line }) });
  return { data, post, stop: stop.signal, logger, release: () => port.unref() };
}
