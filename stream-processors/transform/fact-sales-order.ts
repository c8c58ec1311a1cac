import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { rowImageOf, withFactMetadata } from './row-metadata.js';
import { requiredDate, requiredInt, requiredMoney, requiredTimestamp, sourceRowOf, timestampDate, timestampTime } from './source-values.js';

/** sales_order change → one fact_sales_order version (staff_id becomes sales_staff_id). */
export function factSalesOrderRow(event: ChangeEvent): WarehouseRow {
  const src = sourceRowOf(event, rowImageOf(event));
  const created = requiredTimestamp(src, 'created_at');
  const updated = requiredTimestamp(src, 'last_updated');
  // Fact metadata is read after the source columns, so an event with several faults reports the same one as always.
  return withFactMetadata(event, {
    sales_order_id: requiredInt(src, 'sales_order_id'),
    created_date: timestampDate(created),
    created_time: timestampTime(created),
    last_updated_date: timestampDate(updated),
    last_updated_time: timestampTime(updated),
    sales_staff_id: requiredInt(src, 'staff_id'),
    counterparty_id: requiredInt(src, 'counterparty_id'),
    units_sold: requiredInt(src, 'units_sold'),
    unit_price: requiredMoney(src, 'unit_price'),
    currency_id: requiredInt(src, 'currency_id'),
    design_id: requiredInt(src, 'design_id'),
    agreed_payment_date: requiredDate(src, 'agreed_payment_date'),
    agreed_delivery_date: requiredDate(src, 'agreed_delivery_date'),
    agreed_delivery_location_id: requiredInt(src, 'agreed_delivery_location_id'),
  });
}
