import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { rowImageOf, withFactMetadata } from './row-metadata.js';
import { requiredDate, requiredInt, requiredMoney, requiredText, requiredTimestamp, sourceRowOf, timestampDate, timestampTime } from './source-values.js';

/** purchase_order change → one fact_purchase_order version. */
export function factPurchaseOrderRow(event: ChangeEvent): WarehouseRow {
  const src = sourceRowOf(event, rowImageOf(event));
  const created = requiredTimestamp(src, 'created_at');
  const updated = requiredTimestamp(src, 'last_updated');
  // Fact metadata is read after the source columns, so an event with several faults reports the same one as always.
  return withFactMetadata(event, {
    purchase_order_id: requiredInt(src, 'purchase_order_id'),
    created_date: timestampDate(created),
    created_time: timestampTime(created),
    last_updated_date: timestampDate(updated),
    last_updated_time: timestampTime(updated),
    staff_id: requiredInt(src, 'staff_id'),
    counterparty_id: requiredInt(src, 'counterparty_id'),
    item_code: requiredText(src, 'item_code'),
    item_quantity: requiredInt(src, 'item_quantity'),
    item_unit_price: requiredMoney(src, 'item_unit_price'),
    currency_id: requiredInt(src, 'currency_id'),
    agreed_delivery_date: requiredDate(src, 'agreed_delivery_date'),
    agreed_payment_date: requiredDate(src, 'agreed_payment_date'),
    agreed_delivery_location_id: requiredInt(src, 'agreed_delivery_location_id'),
  });
}
