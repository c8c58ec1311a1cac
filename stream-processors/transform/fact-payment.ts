import type { ChangeEvent } from '../../core/change-event.js';
import type { WarehouseRow } from '../../core/warehouse-row.js';
import { factMetadata, rowImageOf } from './row-metadata.js';
import { requiredBoolean, requiredDate, requiredInt, requiredMoney, requiredTimestampParts, sourceRowOf } from './source-values.js';

/**
 * payment change → one fact_payment version. company_ac_number and counterparty_ac_number are
 * dropped here on purpose: account numbers never reach the warehouse.
 */
export function factPaymentRow(event: ChangeEvent): WarehouseRow {
  const src = sourceRowOf(event, rowImageOf(event));
  const created = requiredTimestampParts(src, 'created_at');
  const updated = requiredTimestampParts(src, 'last_updated');
  return {
    payment_id: requiredInt(src, 'payment_id'),
    created_date: created.date,
    created_time: created.time,
    last_updated_date: updated.date,
    last_updated_time: updated.time,
    transaction_id: requiredInt(src, 'transaction_id'),
    counterparty_id: requiredInt(src, 'counterparty_id'),
    payment_amount: requiredMoney(src, 'payment_amount'),
    currency_id: requiredInt(src, 'currency_id'),
    payment_type_id: requiredInt(src, 'payment_type_id'),
    paid: requiredBoolean(src, 'paid'),
    payment_date: requiredDate(src, 'payment_date'),
    ...factMetadata(event),
  };
}
