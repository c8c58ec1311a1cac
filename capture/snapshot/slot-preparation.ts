import pg from 'pg';
import type { Logger } from '../../platform/logger.js';
import { formatLsn, parseLsn } from '../../contracts/lsn.js';
import { AckTracker } from '../publish/ack-tracker.js';
import { SlotInUseError } from '../capture-errors.js';
import type { CaptureStats } from '../reporting/capture-status.js';
import { EventPublisher } from '../publish/event-publisher.js';
import { readSnapshot } from './initial-snapshot.js';
import {
  assertSourceTables,
  bridgeSlotName,
  copySlot,
  createSlotWithExportedSnapshot,
  dropSlot,
  ensurePublication,
  ensureReplicaIdentityFull,
  readSlot,
  readSnapshotMarker,
  writeSnapshotMarker,
} from '../control/replication-setup.js';
import type { CaptureLifecycle } from '../lifecycle/capture-lifecycle.js';
import { streamBridge } from './bridge.js';
import type { SlotPreparationOptions } from './slot-preparation-options.js';
import { withPostgresClient } from '../../platform/postgres-client.js';
import { slotLossOf } from '../control/slot-status.js';
import { enqueueReconcile, snapshotReconcileId } from '../publish/reconcile-publish.js';
import { SNAPSHOT_SEQ } from '../../contracts/change-event.js';

/**
 * Publication, replica identity, slot and initial snapshot. Returns true when it took a snapshot.
 *
 * Marker protocol (replication-setup.ts): pending → slot → snapshot → complete. A snapshot that was
 * abandoned (crash, stop request) has published some `r` events at its point A. Redoing it with a
 * new slot at point B would leave every row deleted between A and B in the stream for good: the new
 * snapshot no longer sees it and the new slot starts after its delete. So before the abandoned
 * slot is dropped it is copied to the *bridge slot* (still at A), and once the new slot exists the
 * bridge publishes the transactions committed between A and B, in WAL order, before the new
 * snapshot's events. Per key the stream stays ordered (A < bridge changes < B) and complete; rows
 * read by both snapshots arrive twice (different ids, same content). The bridge is dropped once the
 * new snapshot is published; a crash before that redoes the snapshot with the same bridge, which
 * resumes where it had confirmed.
 *
 * A lost slot (docs/capture-spec.md, K1-K3): the marker says this slot's snapshot completed, but
 * the slot is gone (dropped, or not carried by a restore or failover) or invalidated (wal_status
 * `lost`, past max_slot_wal_keep_size). Its unconfirmed changes are gone from the WAL for good, so
 * there is nothing to bridge: the invalidated slot is dropped and a new snapshot taken. Every
 * snapshot ends each chunk of keys with a reconcile record (contracts/reconcile.ts), so rows
 * deleted while nobody captured get their delete versions in the warehouse; rows changed meanwhile
 * get the snapshot's `r` version, unchanged rows nothing (the loader's rule for `r` rows).
 *
 * Invariants (docs/capture-spec.md): S1 marker order; S2 a slot is dropped only when its snapshot
 * never completed, never while active, and only after a copy to the bridge once its snapshot had
 * begun publishing; S4 the bridge slot is dropped only once the new snapshot is published.
 */
export async function prepareSlot(
  options: SlotPreparationOptions,
  stats: CaptureStats,
  logger: Logger,
  lifecycle: Pick<CaptureLifecycle, 'snapshot'>,
  heartbeat: () => Promise<unknown>,
): Promise<boolean> {
  const { slotName, publicationName } = options.config.capture;
  const bridgeName = bridgeSlotName(slotName);
  // Where the bridge starts (its confirmed position), or null without a bridge; undefined: no snapshot to take.
  const bridgeFrom = await withClient(options.sourceUrl, 'totesys-cdc-capture-setup', async (client) => {
    await assertSourceTables(client);
    const publication = await ensurePublication(client, publicationName);
    if (publication !== 'unchanged') logger.info(`publication ${publication}`, { publicationName });
    if (options.config.capture.replicaIdentityFull) {
      const changed = await ensureReplicaIdentityFull(client);
      if (changed.length) logger.info('set REPLICA IDENTITY FULL', { tables: changed });
    }
    const slot = await readSlot(client, slotName);
    const bridge = await readSlot(client, bridgeName);
    const marker = await readSnapshotMarker(client, publicationName);
    const loss = slotLossOf({ exists: slot !== null, walStatus: slot?.walStatus ?? null }, marker, slotName);
    if (loss) {
      // K1: detected before anything streams from it; K2: reported, then recovered by a snapshot.
      options.onSlotLost?.({ reason: loss, confirmedFlushLsn: slot?.confirmedFlushLsn ?? null, snapshotLsn: marker.state === 'complete' ? marker.snapshotLsn : null });
      if (slot?.active) throw new SlotInUseError(slotName, slot.activePid);
      if (slot) await dropSlot(client, slotName);
      // No bridge: an invalidated slot cannot be read, a missing one has nothing to copy.
      if (bridge && !bridge.active) await dropSlot(client, bridgeName);
      await writeSnapshotMarker(client, publicationName, { state: 'pending', slotName });
      return null;
    }
    // S1: a slot whose snapshot completed is never snapshotted again.
    if (slot && marker.state === 'complete' && marker.slotName === slotName) {
      if (bridge && !bridge.active && (await dropSlot(client, bridgeName))) logger.info('dropped a leftover bridge slot', { bridgeSlot: bridgeName });
      return undefined;
    }
    // S2: never drop (or copy) a slot another process streams from.
    if (slot?.active) throw new SlotInUseError(slotName, slot.activePid);
    if (bridge?.active) throw new SlotInUseError(bridgeName, bridge.activePid);
    // The copy starts where the abandoned slot had confirmed, like an existing bridge where it had.
    let bridgeStart = bridge;
    if (slot) {
      // Only a slot whose snapshot we started has published `r` events the bridge must follow up.
      if (!bridgeStart && marker.state === 'pending' && marker.slotName === slotName) {
        await copySlot(client, slotName, bridgeName);
        bridgeStart = slot;
      }
      logger.warn('slot exists but its initial snapshot never completed: snapshotting again', { marker: marker.state, bridgeSlot: bridgeStart ? bridgeName : null });
      await dropSlot(client, slotName);
    }
    await writeSnapshotMarker(client, publicationName, { state: 'pending', slotName });
    return bridgeStart ? parseLsn(bridgeStart.confirmedFlushLsn ?? '0/0') : null;
  });
  if (bridgeFrom === undefined) return false;

  lifecycle.snapshot();
  const exported = await createSlotWithExportedSnapshot(options.sourceUrl, slotName);
  const snapshotLsn = formatLsn(parseLsn(exported.consistentPoint));
  try {
    if (bridgeFrom !== null) await streamBridge(options, stats, logger, bridgeName, bridgeFrom, parseLsn(snapshotLsn), heartbeat);
    // S5: the snapshot's events carry the new slot's consistent point, where its stream begins.
    logger.info('slot created, reading initial snapshot', { snapshotLsn });
    await publishSnapshot(options, stats, logger, exported.snapshotName, snapshotLsn);
  } finally {
    await exported.release();
  }
  // S4: the bridge goes only now that the new snapshot is published; S1: complete comes last.
  await withClient(options.sourceUrl, 'totesys-cdc-capture-setup', async (client) => {
    if (bridgeFrom !== null) await dropSlot(client, bridgeName, 10_000);
    await writeSnapshotMarker(client, publicationName, { state: 'complete', slotName, snapshotLsn });
  });
  return true;
}

async function publishSnapshot(options: SlotPreparationOptions, stats: CaptureStats, logger: Logger, snapshotName: string, snapshotLsn: string): Promise<void> {
  const publisher = new EventPublisher({
    writer: options.writer,
    tracker: new AckTracker(),
    logger,
    ...options.publisher,
    onDurable: (records, latencyMs, otherRecords) => {
      stats.published(records, latencyMs, otherRecords);
      stats.status.snapshotRowsPublished += records;
    },
  });
  try {
    const { rows } = await readSnapshot({
      connectionString: options.sourceUrl,
      snapshotName,
      snapshotLsn,
      batchRows: options.snapshotBatchRows,
      onProgress: options.onSnapshotProgress,
      // K3: every chunk's keys, so the loader gives rows the source no longer has a delete version.
      onChunk: async (chunk) => {
        if (options.signal?.aborted) throw new Error('initial snapshot interrupted by a stop request');
        await enqueueReconcile(publisher, options.reconcileShards, {
          id: snapshotReconcileId(chunk.table, snapshotLsn, chunk.index),
          table: chunk.table,
          lsn: snapshotLsn,
          seq: SNAPSHOT_SEQ,
          commitTs: chunk.commitTs,
          reason: 'snapshot',
          keyAfter: chunk.keyAfter,
          keyTo: chunk.keyTo,
          keys: chunk.keys,
        });
      },
      onEvents: async (events) => {
        // A stop request abandons the snapshot: the marker stays "pending", the next start redoes it.
        if (options.signal?.aborted) throw new Error('initial snapshot interrupted by a stop request');
        for (const event of events) {
          const room = publisher.enqueueSerialized(event.id, event.partitionKey, event.json);
          if (room) await room;
        }
      },
    });
    await publisher.flush();
    logger.info('initial snapshot published', { rows, snapshotLsn });
  } finally {
    publisher.close();
  }
}

function withClient<T>(url: string, applicationName: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withPostgresClient({ url, applicationName, connectionTimeoutMs: 10_000 }, fn);
}
