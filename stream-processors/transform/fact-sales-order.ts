import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { factRow } from './fact-row.js';
import { requiredDate, requiredInt, requiredMoney } from './source-values.js';

/** sales_order change → one fact_sales_order version (staff_id becomes sales_staff_id). */
export function factSalesOrderRow(event: ChangeEvent): WarehouseRow {
  return factRow(event, 'fact_sales_order', 'sales_order_id', (src) => ({
    sales_staff_id: requiredInt(src, 'staff_id'),
    counterparty_id: requiredInt(src, 'counterparty_id'),
    units_sold: requiredInt(src, 'units_sold'),
    unit_price: requiredMoney(src, 'unit_price'),
    currency_id: requiredInt(src, 'currency_id'),
    design_id: requiredInt(src, 'design_id'),
    agreed_payment_date: requiredDate(src, 'agreed_payment_date'),
    agreed_delivery_date: requiredDate(src, 'agreed_delivery_date'),
    agreed_delivery_location_id: requiredInt(src, 'agreed_delivery_location_id'),
  }));
}
