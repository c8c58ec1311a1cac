import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { optionalInt, optionalText, requiredInt, sourceRowOf } from './source-values.js';
import { versionedRowOf } from './versioned-row.js';

/** transaction change → dim_transaction (copy; the enum arrives as its label). */
export function dimTransactionRow(event: ChangeEvent): WarehouseRow {
  const { row, version, deleted } = versionedRowOf(event);
  const src = sourceRowOf(event, row);
  return {
    transaction_id: requiredInt(src, 'transaction_id'),
    transaction_type: optionalText(src, 'transaction_type'),
    sales_order_id: optionalInt(src, 'sales_order_id'),
    purchase_order_id: optionalInt(src, 'purchase_order_id'),
    version_lsn: version.lsn,
    version_seq: version.seq,
    is_deleted: deleted,
  };
}
