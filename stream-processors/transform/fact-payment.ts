import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { factRow } from './fact-row.js';
import { requiredBoolean, requiredDate, requiredInt, requiredMoney, type SourceRow } from './source-values.js';

/**
 * payment change → one fact_payment version. company_ac_number and counterparty_ac_number are
 * dropped here on purpose: account numbers never reach the warehouse.
 */
export function factPaymentRow(event: ChangeEvent): WarehouseRow {
  return factRow(event, 'fact_payment', 'payment_id', setOwnColumns);
}

function setOwnColumns(src: SourceRow, row: WarehouseRow): void {
  row.transaction_id = requiredInt(src, 'transaction_id');
  row.counterparty_id = requiredInt(src, 'counterparty_id');
  row.payment_amount = requiredMoney(src, 'payment_amount');
  row.currency_id = requiredInt(src, 'currency_id');
  row.payment_type_id = requiredInt(src, 'payment_type_id');
  row.paid = requiredBoolean(src, 'paid');
  row.payment_date = requiredDate(src, 'payment_date');
}
