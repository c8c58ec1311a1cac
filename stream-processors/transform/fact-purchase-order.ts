import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { factRow } from './fact-row.js';
import { requiredDate, requiredInt, requiredMoney, requiredText, type SourceRow } from './source-values.js';

/** purchase_order change → one fact_purchase_order version. */
export function factPurchaseOrderRow(event: ChangeEvent): WarehouseRow {
  return factRow(event, 'fact_purchase_order', 'purchase_order_id', setOwnColumns);
}

function setOwnColumns(src: SourceRow, row: WarehouseRow): void {
  row.staff_id = requiredInt(src, 'staff_id');
  row.counterparty_id = requiredInt(src, 'counterparty_id');
  row.item_code = requiredText(src, 'item_code');
  row.item_quantity = requiredInt(src, 'item_quantity');
  row.item_unit_price = requiredMoney(src, 'item_unit_price');
  row.currency_id = requiredInt(src, 'currency_id');
  row.agreed_delivery_date = requiredDate(src, 'agreed_delivery_date');
  row.agreed_payment_date = requiredDate(src, 'agreed_payment_date');
  row.agreed_delivery_location_id = requiredInt(src, 'agreed_delivery_location_id');
}
