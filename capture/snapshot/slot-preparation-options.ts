import type { Config } from '../../platform/config.js';
import type { ChangeStreamWriter } from '../../stream/change-stream.js';
import type { EventPublisherOptions } from '../publish/event-publisher.js';
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
}
