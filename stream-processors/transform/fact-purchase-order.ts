import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { factRow } from './fact-row.js';
import { requiredDate, requiredInt, requiredMoney, requiredText } from './source-values.js';

/** purchase_order change → one fact_purchase_order version. */
export function factPurchaseOrderRow(event: ChangeEvent): WarehouseRow {
  return factRow(event, 'fact_purchase_order', 'purchase_order_id', (src) => ({
    staff_id: requiredInt(src, 'staff_id'),
    counterparty_id: requiredInt(src, 'counterparty_id'),
    item_code: requiredText(src, 'item_code'),
    item_quantity: requiredInt(src, 'item_quantity'),
    item_unit_price: requiredMoney(src, 'item_unit_price'),
    currency_id: requiredInt(src, 'currency_id'),
    agreed_delivery_date: requiredDate(src, 'agreed_delivery_date'),
    agreed_payment_date: requiredDate(src, 'agreed_payment_date'),
    agreed_delivery_location_id: requiredInt(src, 'agreed_delivery_location_id'),
  }));
}
