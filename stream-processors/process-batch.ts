import { createHash } from 'node:crypto';
import type { ObjectStore } from '../bucket/object-store.js';
import { serializeChangeEvent, type ChangeEvent } from '../contracts/change-event.js';
import { errorMessage, isBadInput } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { MANIFEST_VERSION, type BatchManifest, type ManifestFile } from '../contracts/manifest.js';
import { METRIC } from '../platform/metrics.js';
import { encodeWarehouseParquet } from '../parquet/warehouse-parquet.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import { batchIdOfDistinct, commitDateOf, manifestKey, parquetKey } from '../contracts/manifest-layout.js';
import { BatchRows } from './batch-rows.js';
import { DistinctIds } from './distinct-ids.js';
import { addRowsForEvent } from './event-rows.js';
import { loggingMetrics, type MetricsSink } from './processor-metrics.js';
import { utcDateOf, writeQuarantine } from './quarantine.js';
import type { JoinStateStore } from './state/join-state-store.js';
import { commitMsOf } from './transform/row-metadata.js';
import { SourceValueError, UnknownSourceTableError } from './transform/source-values.js';
import { assertWarehouseColumns } from './warehouse-source-columns.js';
import type { ShardWatermark } from '../contracts/watermark.js';
import { groupReconcileCopies, type ManifestReconcile, type ShardReconcile } from '../contracts/reconcile.js';

export interface ProcessDeps {
  state: JoinStateStore;
  processed: ObjectStore;
  logger: Logger;
  /** Key prefix inside the processed bucket ('' by default; replay may use e.g. 'replay/<run>/'). */
  prefix?: string;
  metrics?: MetricsSink;
  /** Clock for the manifest's write time (tests pin it). */
  now?: () => number;
  /** Shard context for quarantine entries (the consumers pass it). */
  recordOrigin?: (event: ChangeEvent) => { shardId?: string; sequenceNumber?: string } | undefined;
  /**
   * Called for each file once it is durable, with the rows it was encoded from. Replay's bulk load
   * takes them instead of decoding the file it has just written. Not called for a batch that fails.
   */
  onFileRows?: (file: ManifestFile, rows: readonly WarehouseRow[]) => void;
  /** The newest watermark per shard among the batch's records: carried into the manifest (contracts/watermark.ts). */
  watermarks?: readonly ShardWatermark[];
  /** Reconcile records among the batch's records: carried into the manifest (contracts/reconcile.ts). */
  reconciles?: readonly ShardReconcile[];
}

/**
 * Turns a batch of change events into star-schema Parquet files plus one manifest.
 *
 * Ordering and durability (the loader's contract, contracts/manifest.ts):
 *  - events are applied in input order (callers keep each key's order; nothing is sorted across keys),
 *    iterated once (processRecords parses each as it is reached);
 *  - a repeated event id inside the batch is processed once;
 *  - every Parquet file is written (durable) BEFORE the manifest, the commit point;
 *  - identical input and state give byte-identical Parquet files and the same batchId (the hash of
 *    the sorted event ids); only the manifest's createdAt and key carry the write time, so manifest
 *    keys sort in the order they were written. The loader lists manifests in key order with a
 *    short lookback, so a lagging shard's batch of old commits is still found; it skips a batchId
 *    it already loaded, so a reprocessed batch (new key, same batchId) loads once.
 * Events that violate the contract are quarantined and counted; the rest proceed. Retryable failures
 * (state store, bucket) reject the whole call: the caller retries the same events, which is harmless.
 * Resolves to null when no event produced a row (empty batch, or everything quarantined).
 */
export async function processEvents(events: Iterable<ChangeEvent>, deps: ProcessDeps): Promise<BatchManifest | null> {
  const prefix = deps.prefix ?? '';
  const metrics = deps.metrics ?? loggingMetrics(deps.logger);
  const seen = new DistinctIds();
  const rows = new BatchRows();
  const processedIds: string[] = [];
  let minCommitMs = Infinity;
  let maxCommitMs = -Infinity;
  let quarantined = 0;

  for (const event of events) {
    if (!seen.add(event.id)) continue;
    try {
      const commitMs = commitMsOf(event.source?.commitTs);
      if (Number.isNaN(commitMs)) throw new SourceValueError(`source.commitTs is not an instant: ${JSON.stringify(event.source?.commitTs)}`, event.table, 'source.commitTs', event.id);
      assertWarehouseColumns(event); // a column dropped or renamed in the source: quarantined, never NULL
      const joining = addRowsForEvent(event, deps, rows);
      if (joining) await joining;
      processedIds.push(event.id);
      if (commitMs < minCommitMs) minCommitMs = commitMs;
      if (commitMs > maxCommitMs) maxCommitMs = commitMs;
    } catch (error) {
      // Only contract-breaking input is quarantined; a retryable failure or a bug fails the batch.
      if (!isBadInput(error)) throw error;
      quarantined++;
      const commitMs = Date.parse(event.source?.commitTs);
      const key = await writeQuarantine(deps.processed, prefix, {
        reason: error instanceof UnknownSourceTableError ? 'unknown-table' : 'invalid-value',
        error: errorMessage(error),
        record: serializeChangeEvent(event),
        date: utcDateOf(Number.isNaN(commitMs) ? Date.now() : commitMs),
        eventId: event.id,
        ...deps.recordOrigin?.(event),
      });
      deps.logger.warn('event quarantined', { eventId: event.id, table: event.table, key, error: errorMessage(error) });
    }
  }
  // Join state must be durable before the manifest (and so before any checkpoint) exists.
  await deps.state.flush();
  // Counted once the batch is durable (its manifest written): a batch that fails after quarantining
  // is retried (Lambda, the local stage's rewind) and quarantines the same events again.
  const countQuarantined = () => quarantined > 0 && metrics.count(METRIC.eventsQuarantined, quarantined);
  const watermarks = deps.watermarks && deps.watermarks.length > 0 ? [...deps.watermarks] : undefined;
  const reconciles = deps.reconciles && deps.reconciles.length > 0 ? groupReconcileCopies(deps.reconciles) : undefined;
  if (processedIds.length === 0) {
    const manifest = watermarks || reconciles ? await writeWatermarkManifest(watermarks, reconciles, deps, prefix) : null;
    countQuarantined();
    return manifest;
  }

  // distinct: `seen` above; a reconcile copy is part of the batch's identity like an event.
  const batchId = batchIdOfDistinct(reconciles ? [...processedIds, ...reconciles.map(reconcileIdentity)] : processedIds);
  const minCommitTs = new Date(minCommitMs).toISOString();
  const maxCommitTs = new Date(maxCommitMs).toISOString();
  const files: ManifestFile[] = await Promise.all(
    rows.tables().map(async ({ table, rows: tableRows }) => {
      const bytes = encodeWarehouseParquet(table, tableRows);
      const key = parquetKey(prefix, table, maxCommitTs, batchId);
      await deps.processed.put(key, bytes);
      const file: ManifestFile = { table, key, rows: tableRows.length, bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
      return { file, rows: tableRows };
    }),
  ).then((written) => {
    for (const { file, rows: fileRows } of written) deps.onFileRows?.(file, fileRows);
    return written.map((w) => w.file);
  });
  const createdAt = new Date((deps.now ?? Date.now)()).toISOString();
  const manifest: BatchManifest = {
    v: MANIFEST_VERSION,
    batchId,
    createdAt,
    eventCount: processedIds.length,
    firstEventId: processedIds[0],
    lastEventId: processedIds[processedIds.length - 1],
    minCommitTs,
    maxCommitTs,
    files,
    ...(watermarks ? { watermarks } : {}),
    ...(reconciles ? { reconciles } : {}),
  };
  // The commit point: written only after every file above is durable.
  const key = manifestKey(prefix, createdAt, batchId);
  await deps.processed.put(key, JSON.stringify(manifest, null, 2) + '\n');
  metrics.count(METRIC.eventsProcessed, processedIds.length);
  countQuarantined();
  deps.logger.info('batch processed', { batchId, manifest: key, events: processedIds.length, quarantined, date: commitDateOf(maxCommitTs), files: files.length });
  return manifest;
}

/**
 * An idle shard's batch held only watermarks: a manifest with no events and no files, so the
 * watermark still travels through the loader's ledger (exactly once, in order with the shard's
 * other manifests). Its batchId is the hash of the watermarks (same records → same batchId).
 */
async function writeWatermarkManifest(watermarks: ShardWatermark[] | undefined, reconciles: ManifestReconcile[] | undefined, deps: ProcessDeps, prefix: string): Promise<BatchManifest> {
  const batchId = batchIdOfDistinct([...(watermarks ?? []).map((w) => `watermark:${w.shardId}:${w.lsn}`), ...(reconciles ?? []).map(reconcileIdentity)]);
  const times = [...(watermarks ?? []).map((w) => w.ts), ...(reconciles ?? []).map((r) => r.record.commitTs)];
  const newest = times.reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a));
  const createdAt = new Date((deps.now ?? Date.now)()).toISOString();
  const manifest: BatchManifest = {
    v: MANIFEST_VERSION, batchId, createdAt, eventCount: 0, firstEventId: '', lastEventId: '', minCommitTs: newest, maxCommitTs: newest, files: [],
    ...(watermarks ? { watermarks } : {}),
    ...(reconciles ? { reconciles } : {}),
  };
  const key = manifestKey(prefix, createdAt, batchId);
  await deps.processed.put(key, JSON.stringify(manifest, null, 2) + '\n');
  deps.logger.debug('watermark manifest written', { batchId, manifest: key, watermarks: watermarks?.length ?? 0, reconciles: reconciles?.length ?? 0 });
  return manifest;
}

function reconcileIdentity(entry: ManifestReconcile): string {
  return `reconcile:${entry.record.id}:${entry.copyShards.join(',')}`;
}
