import type { ChangeEvent } from '../../contracts/change-event.js';
import { WAREHOUSE_MODEL, type WarehouseTable } from '../../contracts/warehouse-model.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { rowImageOf, withFactMetadata } from './row-metadata.js';
import { requiredInt, requiredTimestamp, type SourceRow, sourceRowOf, timestampDate, timestampTime } from './source-values.js';

/**
 * Per table, a row with every model column (null), in model order. A row starts as a copy of it
 * (`{ ...template }` copies the hidden class: every column an in-object field), and the columns are
 * then set in place: one shape per table, no property added later. Building rows by spreading one
 * object into another, or adding columns to a smaller one, made the transform and the Parquet
 * encoder's column reads about twice as slow (bench:process). The template is not frozen (its
 * type is Readonly, and only copies are ever written): V8 copies a frozen object's properties
 * one by one, 8x slower than a plain one's (280 against 35 ns a row, 0.1 s of a scale-10 first sync).
 */
const TEMPLATES = new Map<WarehouseTable, Readonly<WarehouseRow>>();
export function rowTemplate(table: WarehouseTable): Readonly<WarehouseRow> {
  let template = TEMPLATES.get(table);
  if (!template) {
    template = Object.fromEntries(WAREHOUSE_MODEL[table].columns.map((column) => [column.name, null])) as Readonly<WarehouseRow>;
    TEMPLATES.set(table, template);
  }
  return template;
}

/**
 * The shape every fact row shares: the source id, created_at and last_updated split into date and
 * time, the table's own columns (set in place by `setOwnColumns`: no object per row to copy them
 * from), then the fact metadata. Reads happen in that order (created_at,
 * last_updated, id, own columns, metadata), so an event with several faults always reports the same one.
 */
export function factRow(event: ChangeEvent, table: WarehouseTable, idColumn: string, setOwnColumns: (src: SourceRow, row: WarehouseRow) => void): WarehouseRow {
  const src = sourceRowOf(event, rowImageOf(event));
  const created = requiredTimestamp(src, 'created_at');
  const updated = requiredTimestamp(src, 'last_updated');
  const row: WarehouseRow = { ...rowTemplate(table) };
  row[idColumn] = requiredInt(src, idColumn);
  row.created_date = timestampDate(created);
  row.created_time = timestampTime(created);
  row.last_updated_date = timestampDate(updated);
  row.last_updated_time = timestampTime(updated);
  setOwnColumns(src, row);
  return withFactMetadata(event, row);
}
