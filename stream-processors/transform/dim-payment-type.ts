import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { optionalText, requiredInt, sourceRowOf } from './source-values.js';
import { versionedRowOf } from './versioned-row.js';

/** payment_type change → dim_payment_type (copy). */
export function dimPaymentTypeRow(event: ChangeEvent): WarehouseRow {
  const { row, version, deleted } = versionedRowOf(event);
  const src = sourceRowOf(event, row);
  return { payment_type_id: requiredInt(src, 'payment_type_id'), payment_type_name: optionalText(src, 'payment_type_name'), version_lsn: version.lsn, version_seq: version.seq, is_deleted: deleted };
}
