import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { rowImageOf, withFactMetadata } from './row-metadata.js';
import { requiredBoolean, requiredDate, requiredInt, requiredMoney, requiredTimestamp, sourceRowOf, timestampDate, timestampTime } from './source-values.js';

/**
 * payment change → one fact_payment version. company_ac_number and counterparty_ac_number are
 * dropped here on purpose: account numbers never reach the warehouse.
 */
export function factPaymentRow(event: ChangeEvent): WarehouseRow {
  const src = sourceRowOf(event, rowImageOf(event));
  const created = requiredTimestamp(src, 'created_at');
  const updated = requiredTimestamp(src, 'last_updated');
  // Fact metadata is read after the source columns, so an event with several faults reports the same one as always.
  return withFactMetadata(event, {
    payment_id: requiredInt(src, 'payment_id'),
    created_date: timestampDate(created),
    created_time: timestampTime(created),
    last_updated_date: timestampDate(updated),
    last_updated_time: timestampTime(updated),
    transaction_id: requiredInt(src, 'transaction_id'),
    counterparty_id: requiredInt(src, 'counterparty_id'),
    payment_amount: requiredMoney(src, 'payment_amount'),
    currency_id: requiredInt(src, 'currency_id'),
    payment_type_id: requiredInt(src, 'payment_type_id'),
    paid: requiredBoolean(src, 'paid'),
    payment_date: requiredDate(src, 'payment_date'),
  });
}
