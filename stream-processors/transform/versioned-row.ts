import type { ChangeEvent, EventVersion, Row } from '../../contracts/change-event.js';
import { eventLsnOf, eventSeqOf } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { rowImageOf } from './row-metadata.js';
import { type SourceRow, sourceRowOf } from './source-values.js';

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

/** A dimension row copied from one source row: the table's own columns, then the version columns. */
export function copiedDimensionRow(event: ChangeEvent, ownColumns: (src: SourceRow) => WarehouseRow): WarehouseRow {
  const { row, version, deleted } = versionedRowOf(event);
  return { ...ownColumns(sourceRowOf(event, row)), version_lsn: version.lsn, version_seq: version.seq, is_deleted: deleted };
}
