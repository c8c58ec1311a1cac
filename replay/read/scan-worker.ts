import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../../platform/errors.js';
import { scanObject } from './archived-line.js';
import type { FromScanWorker, ScanWorkerData, ToScanWorker } from './scan-pool.js';
import { RunBuilder, RunMerger, batchBuffers, type MergedBatch } from '../order/sorted-runs.js';

/**
 * A replay scan worker (see scan-pool.ts): scans the objects it is sent, one at a time and in the
 * order received, into its own sorted runs; on `finish` sorts its last run and hands it over in
 * memory; on `merge` (one worker of the pool) k-way merges every run and sends the lines in key
 * order, staying `ahead` batches in front of the consumer's acks (bounded memory on both sides).
 * Any failure is reported as a `failed` message; the pool then terminates every worker.
 */
const data = workerData as ScanWorkerData;
const port = parentPort!;
const builder = new RunBuilder({ tempDir: data.tempDir, budgetBytes: data.budgetBytes, filePrefix: data.filePrefix });
let queue: Promise<void> = Promise.resolve();
let merge: { merger: RunMerger; credits: number; maxLines: number; maxBytes: number; recycled: MergedBatch[] } | null = null;

const post = (message: FromScanWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const fail = (error: unknown) => post({ type: 'failed', message: errorMessage(error), stack: error instanceof Error ? error.stack : undefined });

function produce(): void {
  if (!merge) return;
  while (merge.credits > 0) {
    const batch: MergedBatch | null = merge.merger.next(merge.maxLines, merge.maxBytes, merge.recycled.pop());
    if (!batch) {
      merge.merger.close();
      merge = null;
      post({ type: 'batch', batch: null });
      return;
    }
    merge.credits--;
    post({ type: 'batch', batch }, batchBuffers(batch));
  }
}

port.on('message', (message: ToScanWorker) => {
  switch (message.type) {
    case 'object':
      // Objects are scanned one after another: the runs are one builder's.
      queue = queue.then(async () => {
        const scan = await scanObject(message.body, message.file, message.objectIndex, builder, data.limits);
        post({ type: 'object', objectIndex: message.objectIndex, scan });
      });
      queue.catch(fail);
      return;
    case 'finish':
      queue = queue.then(() => {
        const result = builder.finish();
        post({ type: 'finished', result }, result.memoryRun ? [result.memoryRun.arena.buffer as ArrayBuffer] : []);
      });
      queue.catch(fail);
      return;
    case 'merge':
      try {
        const merger = new RunMerger({ files: message.files, memoryRuns: message.memoryRuns });
        merge = { merger, credits: message.ahead, maxLines: message.maxLines, maxBytes: message.maxBytes, recycled: [] };
        post({ type: 'merging', runs: merger.runs });
        produce();
      } catch (error) {
        fail(error);
      }
      return;
    case 'ack':
      if (merge) {
        merge.credits++;
        if (message.recycled) merge.recycled.push(message.recycled);
      }
      try {
        produce();
      } catch (error) {
        fail(error);
      }
      return;
  }
});
