import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { optionalText, requiredInt } from './source-values.js';
import { copiedDimensionRow } from './versioned-row.js';

/** design change → dim_design (copy). */
export function dimDesignRow(event: ChangeEvent): WarehouseRow {
  return copiedDimensionRow(event, 'dim_design', (src) => ({
    design_id: requiredInt(src, 'design_id'),
    design_name: optionalText(src, 'design_name'),
    file_location: optionalText(src, 'file_location'),
    file_name: optionalText(src, 'file_name'),
  }));
}
