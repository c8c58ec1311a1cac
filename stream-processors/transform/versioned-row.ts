import type { ChangeEvent, EventVersion, Row } from '../../contracts/change-event.js';
import { eventLsnOf, eventSeqOf } from '../../contracts/change-event.js';
import { rowImageOf } from './row-metadata.js';

/**
 * The latest known image of one source row with its version; `deleted` rows are tombstones that
 * keep their version so an older, replayed change can never bring them back.
 */
export interface VersionedRow {
  row: Row;
  version: EventVersion;
  deleted: boolean;
}

export function versionedRowOf(event: ChangeEvent): VersionedRow {
  const row = rowImageOf(event);
  return { row, version: { lsn: eventLsnOf(event), seq: eventSeqOf(event) }, deleted: event.op === 'd' };
}
