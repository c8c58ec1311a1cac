import type { ChangeEvent } from '../../core/change-event.js';
import type { WarehouseRow } from '../../core/warehouse-row.js';
import { factMetadata, rowImageOf } from './row-metadata.js';
import { requiredDate, requiredInt, requiredMoney, requiredText, requiredTimestampParts, sourceRowOf } from './source-values.js';

/** purchase_order change → one fact_purchase_order version. */
export function factPurchaseOrderRow(event: ChangeEvent): WarehouseRow {
  const src = sourceRowOf(event, rowImageOf(event));
  const created = requiredTimestampParts(src, 'created_at');
  const updated = requiredTimestampParts(src, 'last_updated');
  return {
    purchase_order_id: requiredInt(src, 'purchase_order_id'),
    created_date: created.date,
    created_time: created.time,
    last_updated_date: updated.date,
    last_updated_time: updated.time,
    staff_id: requiredInt(src, 'staff_id'),
    counterparty_id: requiredInt(src, 'counterparty_id'),
    item_code: requiredText(src, 'item_code'),
    item_quantity: requiredInt(src, 'item_quantity'),
    item_unit_price: requiredMoney(src, 'item_unit_price'),
    currency_id: requiredInt(src, 'currency_id'),
    agreed_delivery_date: requiredDate(src, 'agreed_delivery_date'),
    agreed_payment_date: requiredDate(src, 'agreed_payment_date'),
    agreed_delivery_location_id: requiredInt(src, 'agreed_delivery_location_id'),
    ...factMetadata(event),
  };
}
