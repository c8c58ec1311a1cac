import { ManifestWake } from '../loader/manifest-wake.js';
import { errorCategory, errorMessage } from '../platform/errors.js';
import { runProcessorStage } from './local-stages.js';
import { newCounters } from './pipeline-counters.js';
import type { FromProcessor } from './processor-protocol.js';
import { stageWorkerPort } from './stage-worker-port.js';

/**
 * The stream processor stage of `up`/`sync` on a worker thread (processor-thread.ts says why): the
 * same runProcessorStage as in process, with its own consumer, join state and bucket, so
 * checkpoints, quarantine and retries are exactly the in-process ones. Its counters go to the
 * parent after every batch (a manifest at once, so the parent's loader is woken), its log lines
 * to the parent's logger. `stop` ends it the way an aborted signal ends the stage in process: the
 * batch in progress finishes and is checkpointed, then `done`.
 */
const { data, post, stop, logger, release } = stageWorkerPort<FromProcessor>();

const counters = newCounters();
let sent = '';
/** Keys of the manifests written since the last post (the loader loads them without listing). */
const written: string[] = [];
/** A notice without a key since the last post: the loader is told to list. */
let unnamed = false;
/** Posts the counters when they changed since the last post, or when a manifest was written. */
const report = () => {
  const now = JSON.stringify(counters.processor);
  if (now === sent && written.length === 0 && !unnamed) return;
  sent = now;
  // Keys only when every notice named one: otherwise the parent's notice names none (its loader lists).
  const manifestKeys = unnamed ? [] : written.splice(0);
  const manifest = unnamed || manifestKeys.length > 0;
  written.length = 0;
  unnamed = false;
  post({ type: 'batch', processor: { ...counters.processor }, manifest, manifestKeys });
};
const wake = new ManifestWake();
// notify() runs before the stage's onBatch updates the counters: report once that has returned.
wake.subscribe((manifestKey) => {
  if (manifestKey) written.push(manifestKey);
  else unnamed = true;
  queueMicrotask(report);
});
// Batches that wrote no manifest (all quarantined, watermarks only) still change the counters.
const poll = setInterval(report, 250);

try {
  await runProcessorStage(data.config, logger, stop, counters, wake, () => post({ type: 'idle' }));
  post({ type: 'done', processor: { ...counters.processor } });
} catch (error) {
  post({ type: 'failed', message: errorMessage(error), stack: error instanceof Error ? error.stack : undefined, category: errorCategory(error), processor: { ...counters.processor } });
} finally {
  clearInterval(poll);
  release();
}
