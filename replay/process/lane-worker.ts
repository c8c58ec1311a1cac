import { parentPort, workerData } from 'node:worker_threads';
import { objectStoreFrom } from '../../bucket/object-store-from.js';
import { BulkLoad } from '../../loader/bulk-load.js';
import { errorMessage, isRetryable } from '../../platform/errors.js';
import type { LogFields, Logger } from '../../platform/logger.js';
import { Lane } from './lane.js';
import type { FromLane, LaneWorkerData, ToLane } from './lane-protocol.js';
import { BulkLoadSink } from './load-sink.js';

/**
 * A processing lane (lane.ts) on a worker thread, for a rebuild with more than one lane (lanes.ts
 * explains the partitioning). It boots and connects its own bulk loader while the main thread still
 * reads the archive, then waits for the listing (`start`), runs the lane on the lines it is sent,
 * in the order sent, and on `end` reports `processed`, then `done` once its loads are drained. Any
 * failure is reported as `failed` (after its connection and state are closed) and the pool then
 * terminates every lane.
 */
const data = workerData as LaneWorkerData;
const port = parentPort!;
const post = (message: FromLane, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/** Logs go to the main thread's logger (its level, its sink). */
function forwardingLogger(bound: LogFields): Logger {
  const emit = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: LogFields) => {
    const all = { ...bound, ...fields };
    try {
      post({ type: 'log', level, message, fields: all });
    } catch {
      // A field that cannot be cloned (a function, a socket): send its JSON form instead.
      post({ type: 'log', level, message, fields: JSON.parse(JSON.stringify(all, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v))) as LogFields });
    }
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), child: (fields) => forwardingLogger({ ...bound, ...fields }) };
}

const inbox: ToLane[] = [];
let wake: (() => void) | null = null;
port.on('message', (message: ToLane) => {
  inbox.push(message);
  const waiter = wake;
  wake = null;
  waiter?.();
});

async function next(): Promise<ToLane> {
  for (;;) {
    const message = inbox.shift();
    if (message) return message;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}

async function run(): Promise<void> {
  const logger = forwardingLogger({});
  let lane: Lane | null = null;
  let bulk: BulkLoad | null = null;
  let failure: FromLane | null = null;
  try {
    const processed = await objectStoreFrom(data.processed);
    bulk = await BulkLoad.attach({ warehouseUrl: data.warehouseUrl, schema: data.schema, processed, logger });
    const sink = new BulkLoadSink(bulk);
    bulk = null; // the sink owns it
    const listing = await next();
    if (listing.type !== 'start') throw new Error(`lane ${data.lane}: expected the listing first, got ${listing.type}`);
    lane = new Lane({ files: listing.files, processed, processedPrefix: data.processedPrefix, batchSize: data.batchSize, logger, sink, onProgress: (progress) => post({ type: 'progress', progress }) });
    for (let message = await next(); message.type === 'lines'; message = await next()) {
      await lane.accept(message.batch, message.batch.seqs);
      post({ type: 'ack' });
    }
    await lane.endProcessing();
    post({ type: 'processed' });
    const result = await lane.drain();
    await lane.close();
    lane = null;
    post({ type: 'done', result });
  } catch (error) {
    // Closing waits for the loads in flight, so a load that fails meanwhile is named.
    await lane?.close();
    failure = { type: 'failed', message: errorMessage(error), stack: error instanceof Error ? error.stack : undefined, retryable: isRetryable(error), failedManifest: lane?.failedManifest ?? null };
  } finally {
    await lane?.close();
    await bulk?.close();
  }
  if (failure) post(failure);
}

void run();
