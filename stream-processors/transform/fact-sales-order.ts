import type { ChangeEvent } from '../../core/change-event.js';
import type { WarehouseRow } from '../../core/warehouse-row.js';
import { factMetadata, rowImageOf } from './row-metadata.js';
import { requiredDate, requiredInt, requiredMoney, requiredTimestampParts, sourceRowOf } from './source-values.js';

/** sales_order change → one fact_sales_order version (staff_id becomes sales_staff_id). */
export function factSalesOrderRow(event: ChangeEvent): WarehouseRow {
  const src = sourceRowOf(event, rowImageOf(event));
  const created = requiredTimestampParts(src, 'created_at');
  const updated = requiredTimestampParts(src, 'last_updated');
  return {
    sales_order_id: requiredInt(src, 'sales_order_id'),
    created_date: created.date,
    created_time: created.time,
    last_updated_date: updated.date,
    last_updated_time: updated.time,
    sales_staff_id: requiredInt(src, 'staff_id'),
    counterparty_id: requiredInt(src, 'counterparty_id'),
    units_sold: requiredInt(src, 'units_sold'),
    unit_price: requiredMoney(src, 'unit_price'),
    currency_id: requiredInt(src, 'currency_id'),
    design_id: requiredInt(src, 'design_id'),
    agreed_payment_date: requiredDate(src, 'agreed_payment_date'),
    agreed_delivery_date: requiredDate(src, 'agreed_delivery_date'),
    agreed_delivery_location_id: requiredInt(src, 'agreed_delivery_location_id'),
    ...factMetadata(event),
  };
}
