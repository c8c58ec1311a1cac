import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { optionalInt, optionalText, requiredInt } from './source-values.js';
import { copiedDimensionRow } from './versioned-row.js';

/** transaction change → dim_transaction (copy; the enum arrives as its label). */
export function dimTransactionRow(event: ChangeEvent): WarehouseRow {
  return copiedDimensionRow(event, 'dim_transaction', (src) => ({
    transaction_id: requiredInt(src, 'transaction_id'),
    transaction_type: optionalText(src, 'transaction_type'),
    sales_order_id: optionalInt(src, 'sales_order_id'),
    purchase_order_id: optionalInt(src, 'purchase_order_id'),
  }));
}
