import type { ChangeEvent, RowValue } from '../../contracts/change-event.js';
import { PRIMARY_KEYS } from '../../contracts/source-tables.js';

/**
 * An update that changes a row's primary key (`UPDATE purchase_order SET purchase_order_id = ...`,
 * legal in totesys: every foreign key is ON UPDATE CASCADE) is, for the warehouse, the delete of
 * the old key and the create of the new one: the old id's fact gets a `d` version (its current
 * view drops it) and the new id its first version; a dimension's old key is marked deleted. A
 * cascaded change of a referencing row is its own update event and goes through the same path.
 *
 * Capture carries the old key in `before` for such updates: the whole old row under REPLICA
 * IDENTITY FULL, the old key columns alone under the default identity (pgoutput's 'K' tuple,
 * sent exactly when the key changed). The event's `key` and partition key are the new key's.
 */
export interface KeyChange {
  /** The old key's delete: op `d`, `before` the old image (see deleteImage), the old key. */
  deleteOld: ChangeEvent;
  /** The new key's create: op `c`, the event's `after`. */
  createNew: ChangeEvent;
}

/**
 * The id of the old key's delete. It must differ from the event's own id (facts are keyed by event
 * id and the new key's version keeps the event's id) and end like it in `/<position>`, so its
 * version (commit LSN, position) is the event's: the delete is at the key change's own version.
 */
export function oldKeyDeleteId(eventId: string): string {
  return `old-key:${eventId}`;
}

/** The old key value of an update that changed the primary key, else undefined. */
export function changedPrimaryKeyOf(event: ChangeEvent): RowValue | undefined {
  if (event.op !== 'u' || !event.before || !event.after) return undefined;
  const column = PRIMARY_KEYS[event.table];
  if (column === undefined) return undefined;
  const before = event.before[column];
  if (before === undefined || before === null) return undefined;
  return before !== event.after[column] ? before : undefined;
}

/**
 * The two events a key-changing update stands for, or null for any other event. The old key's
 * image is `before` laid over `after`: the old row itself under REPLICA IDENTITY FULL; with only
 * the old key known, the new row's values under the old key (a delete version needs a complete
 * image, and the source told us nothing else about the old row at that moment).
 */
export function splitKeyChange(event: ChangeEvent): KeyChange | null {
  const oldKey = changedPrimaryKeyOf(event);
  if (oldKey === undefined) return null;
  const column = PRIMARY_KEYS[event.table];
  const deleteImage = { ...event.after, ...event.before };
  return {
    deleteOld: { ...event, id: oldKeyDeleteId(event.id), op: 'd', key: { [column]: oldKey }, before: deleteImage, after: null },
    createNew: { ...event, op: 'c', before: null },
  };
}
