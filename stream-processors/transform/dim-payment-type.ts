import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { optionalText, requiredInt } from './source-values.js';
import { copiedDimensionRow } from './versioned-row.js';

/** payment_type change → dim_payment_type (copy). */
export function dimPaymentTypeRow(event: ChangeEvent): WarehouseRow {
  return copiedDimensionRow(event, 'dim_payment_type', (src) => ({ payment_type_id: requiredInt(src, 'payment_type_id'), payment_type_name: optionalText(src, 'payment_type_name') }));
}
