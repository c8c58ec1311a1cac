import type { Config } from '../../platform/config.js';
import type { ChangeStreamWriter } from '../../stream/change-stream.js';
import type { EventPublisherOptions } from '../publish/event-publisher.js';
import type { ShardMap } from '../publish/watermark-shard-map.js';
import type { SlotLoss } from '../control/slot-status.js';
import type { SnapshotProgress } from './initial-snapshot.js';

/** What slot preparation, the initial snapshot and the bridge need from the capture's options. */
export interface SlotPreparationOptions {
  sourceUrl: string;
  config: { capture: Pick<Config['capture'], 'slotName' | 'publicationName' | 'replicaIdentityFull'> };
  writer: ChangeStreamWriter;
  /** Aborted: the snapshot is abandoned (its marker stays pending, the next start redoes it). */
  signal?: AbortSignal;
  onSnapshotProgress?: (progress: SnapshotProgress) => void;
  publisher?: Partial<EventPublisherOptions>;
  snapshotBatchRows?: number;
  /** Where reconcile records go (every open shard); without it one copy, applied on sight (publish/reconcile-publish.ts). */
  reconcileShards?: ShardMap;
  /** The capture's slot was found lost; the snapshot that follows recovers (run-capture reports it). */
  onSlotLost?: (loss: SlotLossReport) => void;
}

export interface SlotLossReport {
  reason: SlotLoss;
  /** The lost slot's last confirmed position, when it still exists (invalidated): changes after it were never captured. */
  confirmedFlushLsn: string | null;
  /** Where the snapshot marker says the slot's snapshot was taken. */
  snapshotLsn: string | null;
}
