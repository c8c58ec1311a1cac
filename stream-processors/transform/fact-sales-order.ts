import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { factRow } from './fact-row.js';
import { requiredDate, requiredInt, requiredMoney, type SourceRow } from './source-values.js';

/** sales_order change → one fact_sales_order version (staff_id becomes sales_staff_id). */
export function factSalesOrderRow(event: ChangeEvent): WarehouseRow {
  return factRow(event, 'fact_sales_order', 'sales_order_id', setOwnColumns);
}

function setOwnColumns(src: SourceRow, row: WarehouseRow): void {
  row.sales_staff_id = requiredInt(src, 'staff_id');
  row.counterparty_id = requiredInt(src, 'counterparty_id');
  row.units_sold = requiredInt(src, 'units_sold');
  row.unit_price = requiredMoney(src, 'unit_price');
  row.currency_id = requiredInt(src, 'currency_id');
  row.design_id = requiredInt(src, 'design_id');
  row.agreed_payment_date = requiredDate(src, 'agreed_payment_date');
  row.agreed_delivery_date = requiredDate(src, 'agreed_delivery_date');
  row.agreed_delivery_location_id = requiredInt(src, 'agreed_delivery_location_id');
}
