import type { ChangeEvent, EventVersion, Row } from '../../contracts/change-event.js';
import { eventLsnOf, eventSeqOf } from '../../contracts/change-event.js';
import type { DimensionName } from '../../contracts/warehouse-model.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { rowTemplate } from './fact-row.js';
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

/**
 * A dimension row copied from one source row: the table's own columns, then the version columns,
 * built in place on a copy of the table's row template (one shape per table; see rowTemplate).
 */
export function copiedDimensionRow(event: ChangeEvent, table: DimensionName, ownColumns: (src: SourceRow) => WarehouseRow): WarehouseRow {
  const image = rowImageOf(event);
  const lsn = eventLsnOf(event);
  const seq = eventSeqOf(event);
  const row: WarehouseRow = { ...rowTemplate(table) };
  Object.assign(row, ownColumns(sourceRowOf(event, image)));
  row.version_lsn = lsn;
  row.version_seq = seq;
  row.is_deleted = event.op === 'd';
  return row;
}
