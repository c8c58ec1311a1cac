import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { rowImageOf, withFactMetadata } from './row-metadata.js';
import { requiredInt, requiredTimestamp, type SourceRow, sourceRowOf, timestampDate, timestampTime } from './source-values.js';

/**
 * The shape every fact row shares: the source id, created_at and last_updated split into date and
 * time, the table's own columns, then the fact metadata. Reads happen in that order (created_at,
 * last_updated, id, own columns, metadata), so an event with several faults always reports the same one.
 */
export function factRow(event: ChangeEvent, idColumn: string, ownColumns: (src: SourceRow) => WarehouseRow): WarehouseRow {
  const src = sourceRowOf(event, rowImageOf(event));
  const created = requiredTimestamp(src, 'created_at');
  const updated = requiredTimestamp(src, 'last_updated');
  const id = requiredInt(src, idColumn);
  return withFactMetadata(event, {
    [idColumn]: id,
    created_date: timestampDate(created),
    created_time: timestampTime(created),
    last_updated_date: timestampDate(updated),
    last_updated_time: timestampTime(updated),
    ...ownColumns(src),
  });
}
