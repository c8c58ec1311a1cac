import { RECONCILE_PARTITION_KEY_PREFIX, serializeReconcile, type ReconcileRecord } from '../../contracts/reconcile.js';
import type { SourceTable } from '../../contracts/source-tables.js';
import type { EventPublisher } from './event-publisher.js';
import type { ShardMap } from './watermark-shard-map.js';

/**
 * Puts a reconcile record (contracts/reconcile.ts) on every open shard, through the event
 * publisher: the copies are registered with the ack tracker like events, so no LSN past the
 * reconcile is confirmed before every copy is durable (D1), and a crash re-sends them with the same
 * id. The caller guarantees the other half of the contract: every event before the reconcile's
 * version is durable before these copies are enqueued (the snapshot publishes after the previous
 * session ended; a TRUNCATE flushes the publisher first, replication-session.ts), so on each shard
 * the copy follows every earlier change of every key, whatever the writer does with other keys.
 * Without a shard map (tests, a capture wired without one) one copy is put and `shards` is null:
 * the loader then applies it on sight.
 */
export type ReconcileContent = Omit<ReconcileRecord, 'kind' | 'v' | 'shards'>;

export async function enqueueReconcile(publisher: Pick<EventPublisher, 'enqueueSerialized'>, shardMap: ShardMap | undefined, record: ReconcileContent): Promise<number> {
  const targets = shardMap ? await shardMap.watermarkTargets() : [{ shardId: null, partitionKey: `${RECONCILE_PARTITION_KEY_PREFIX}${record.table satisfies SourceTable}` }];
  const shards = shardMap ? targets.map((t) => t.shardId as string) : null;
  const json = serializeReconcile({ ...record, shards });
  for (const [i, target] of targets.entries()) {
    const room = publisher.enqueueSerialized(`${record.id}#${i}`, target.partitionKey, json, false);
    if (room) await room;
  }
  return targets.length;
}

/** The id of one snapshot chunk's reconcile: the same snapshot read again gives the same ids. */
export function snapshotReconcileId(table: SourceTable, snapshotLsn: string, chunkIndex: number): string {
  return `snapshot/${table}/${snapshotLsn}/${chunkIndex}`;
}

/** The id of a TRUNCATE's reconcile: its table, its transaction's commit LSN and its position there. */
export function truncateReconcileId(table: SourceTable, commitLsn: string, seq: number): string {
  return `truncate/${table}/${commitLsn}/${seq}`;
}
