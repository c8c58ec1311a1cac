import { parentPort, workerData } from 'node:worker_threads';
import { objectStoreFrom } from '../../bucket/object-store-from.js';
import type { ChangeEvent } from '../../contracts/change-event.js';
import { errorMessage, isRetryable } from '../../platform/errors.js';
import type { LogFields, Logger } from '../../platform/logger.js';
import type { ManifestFile } from '../../contracts/manifest.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { BulkLoad } from '../../loader/bulk-load.js';
import { manifestKey } from '../../contracts/manifest-layout.js';
import { processEvents } from '../../stream-processors/process-batch.js';
import { BackgroundLoads } from './background-loads.js';
import { MAX_LANE_ISSUES, type FromLane, type LaneIssue, type LaneProgress, type LaneWorkerData, type ToLane } from './lane-protocol.js';
import { MergedLineDecoder } from '../order/merged-lines.js';
import { MemoryJoinStateStore } from '../../stream-processors/state/memory-join-state-store.js';
import type { ArchiveIssueKind } from '../replay-report.js';

/**
 * One processing lane of `replay --rebuild` (lane-pool.ts explains the partitioning): decodes the
 * lines it is sent, in the order sent, into events (merged-lines.ts, as ordered-archive does),
 * processes them `batchSize` at a time with its own join state (stream-processors/state/memory-join-state-store.ts) and bulk-loads each manifest over
 * its own connection while it processes the next (the schema was prepared by the main thread, which
 * also finishes it). It boots and connects while the main thread still reads the archive, then
 * waits for the listing (`start`). On `end` it processes the rest, waits for its loads and reports `done`; any
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

const sumRows = (rows: Partial<Record<string, number>>) => Object.values(rows).reduce<number>((sum, n) => sum + (n ?? 0), 0);

async function run(): Promise<void> {
  const logger = forwardingLogger({});
  const issues: LaneIssue[] = [];
  const issueCounts: Partial<Record<ArchiveIssueKind, number>> = {};
  let issueTotal = 0;
  let seq = 0;
  let state: MemoryJoinStateStore | null = null;
  let bulk: BulkLoad | null = null;
  const background = new BackgroundLoads();
  let failure: FromLane | null = null;
  try {
    const processed = await objectStoreFrom(data.processed);
    state = new MemoryJoinStateStore();
    bulk = await BulkLoad.attach({ warehouseUrl: data.warehouseUrl, schema: data.schema, processed, logger });
    const listing = await next();
    if (listing.type !== 'start') throw new Error(`lane ${data.lane}: expected the listing first, got ${listing.type}`);
    const decoder = new MergedLineDecoder(listing.files, {
      add: (issue) => {
        issueTotal++;
        issueCounts[issue.kind] = (issueCounts[issue.kind] ?? 0) + 1;
        if (issues.length < MAX_LANE_ISSUES) issues.push({ ...issue, seq });
      },
    });
    const progress: LaneProgress = { events: 0, duplicates: 0, invalid: 0, manifests: 0 };
    let events: ChangeEvent[] = [];
    const processBatch = async () => {
      const fileRows = new Map<string, readonly WarehouseRow[]>();
      const onFileRows = (file: ManifestFile, rows: readonly WarehouseRow[]) => void fileRows.set(file.key, rows);
      const manifest = await processEvents(events, { state: state!, processed, logger, prefix: data.processedPrefix, onFileRows });
      progress.events += events.length;
      events = [];
      if (manifest) {
        progress.manifests++;
        const key = manifestKey(data.processedPrefix, manifest.createdAt, manifest.batchId);
        await background.add(key, async () => sumRows(await bulk!.load(key, manifest, (file) => fileRows.get(file.key))));
      }
      post({ type: 'progress', progress: { ...progress, duplicates: decoder.duplicates, invalid: decoder.invalid } });
    };
    for (let message = await next(); message.type === 'lines'; message = await next()) {
      const batch = message.batch;
      const text = Buffer.from(batch.text.buffer, batch.text.byteOffset, batch.text.byteLength);
      let start = 0;
      for (let i = 0; i < batch.count; i++) {
        const end = batch.lineEnds[i]!;
        seq = batch.seqs[i]!;
        const event = decoder.decode(text, start, end, batch.origins[i]!, batch.flags[i]!);
        start = end;
        if (!event) continue;
        events.push(event);
        if (events.length === data.batchSize) await processBatch();
      }
      post({ type: 'ack' });
    }
    if (events.length > 0) await processBatch();
    const loaded = await background.drain();
    progress.duplicates = decoder.duplicates;
    progress.invalid = decoder.invalid;
    const result = { ...progress, rowsLoaded: loaded.rowsLoaded, loaded: bulk.loaded, issues, issueTotal, issueCounts };
    await Promise.all([state.close(), bulk.close()]);
    state = null;
    bulk = null;
    post({ type: 'done', result });
  } catch (error) {
    await background.drain().catch(() => {});
    failure = { type: 'failed', message: errorMessage(error), stack: error instanceof Error ? error.stack : undefined, retryable: isRetryable(error), failedManifest: background.failedManifest };
  } finally {
    await state?.close().catch(() => {});
    await bulk?.close();
  }
  if (failure) post(failure);
}

void run();
