import type { ChangeEvent, EventVersion, Row } from '../../core/change-event.js';
import { eventVersion } from '../../core/change-event.js';
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
  return { row: rowImageOf(event), version: eventVersion(event), deleted: event.op === 'd' };
}
