import { parentPort, workerData } from 'node:worker_threads';
import { errorCategory, errorMessage } from '../platform/errors.js';
import { createLogger } from '../platform/logger.js';
import type { ArchiverThreadOptions, FromArchiver } from './archiver-protocol.js';
import { runArchiverStage } from './local-stages.js';
import { newCounters } from './pipeline-counters.js';
import type { StageWorkerData, ToStageWorker } from './stage-thread.js';

/**
 * sync's archiver on a worker thread (archiver-thread.ts says why): the same runArchiverStage as in
 * process, with its own consumer and bucket, so what it writes and when it checkpoints are the
 * in-process archiver's. Its counters go to the parent when objects were written, its log lines
 * to the parent's logger. `stop` ends it the way an aborted signal ends the stage in process:
 * what is buffered is written and checkpointed, then `done`.
 */
const data = workerData as StageWorkerData<ArchiverThreadOptions>;
const port = parentPort!;
const post = (message: FromArchiver) => port.postMessage(message);

const stop = new AbortController();
port.on('message', (message: ToStageWorker) => {
  if (message.type === 'stop') stop.abort();
});

const counters = newCounters();
let sentObjects = 0;
const report = () => {
  if (counters.archiver.objects === sentObjects) return;
  sentObjects = counters.archiver.objects;
  post({ type: 'archived', archiver: { ...counters.archiver } });
};
const poll = setInterval(report, 250);

const logger = createLogger({ service: 'totesys-cdc', level: data.logLevel, write: (line) => post({ type: 'log', line }) });
try {
  await runArchiverStage(data.config, logger, stop.signal, counters, data.options.flushIntervalMs);
  post({ type: 'done', archiver: { ...counters.archiver } });
} catch (error) {
  report();
  post({ type: 'failed', message: errorMessage(error), stack: error instanceof Error ? error.stack : undefined, category: errorCategory(error) });
} finally {
  clearInterval(poll);
  port.unref(); // nothing left to do: the thread exits once the last message is out
}
