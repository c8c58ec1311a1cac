import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { optionalText, requiredInt, sourceRowOf } from './source-values.js';
import { versionedRowOf } from './versioned-row.js';

/** design change → dim_design (copy). */
export function dimDesignRow(event: ChangeEvent): WarehouseRow {
  const { row, version, deleted } = versionedRowOf(event);
  const src = sourceRowOf(event, row);
  return {
    design_id: requiredInt(src, 'design_id'),
    design_name: optionalText(src, 'design_name'),
    file_location: optionalText(src, 'file_location'),
    file_name: optionalText(src, 'file_name'),
    version_lsn: version.lsn,
    version_seq: version.seq,
    is_deleted: deleted,
  };
}
