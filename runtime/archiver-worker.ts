import { errorCategory, errorMessage } from '../platform/errors.js';
import { lowerThreadPriority } from '../platform/thread-priority.js';
import type { ArchiverThreadOptions, FromArchiver } from './archiver-protocol.js';
import { runArchiverStage } from './local-stages.js';
import { newCounters } from './pipeline-counters.js';
import { stageWorkerPort } from './stage-worker-port.js';

/**
 * sync's archiver on a worker thread (archiver-thread.ts says why): the same runArchiverStage as in
 * process, with its own consumer and bucket, so what it writes and when it checkpoints are the
 * in-process archiver's. When asked (sync, when its capture took a snapshot), its thread runs at
 * a lower priority where the system allows it. Its counters go to the parent when objects were
 * written, its log lines to the parent's logger. `stop` ends it the way an aborted signal ends
 * the stage in process: what is buffered is written and checkpointed, then `done`.
 */
const { data, post, stop, logger, release } = stageWorkerPort<FromArchiver, ArchiverThreadOptions>();

const lowered = data.options.niceness > 0 ? lowerThreadPriority(data.options.niceness) : null;
logger.debug('archiver thread priority', { threadId: lowered?.threadId ?? null, niceness: lowered?.niceness ?? null });

const counters = newCounters();
let sentObjects = 0;
const report = () => {
  if (counters.archiver.objects === sentObjects) return;
  sentObjects = counters.archiver.objects;
  post({ type: 'archived', archiver: { ...counters.archiver } });
};
const poll = setInterval(report, 250);

try {
  await runArchiverStage(data.config, logger, stop, counters, data.options.flushIntervalMs);
  post({ type: 'done', archiver: { ...counters.archiver } });
} catch (error) {
  report();
  post({ type: 'failed', message: errorMessage(error), stack: error instanceof Error ? error.stack : undefined, category: errorCategory(error) });
} finally {
  clearInterval(poll);
  release();
}
