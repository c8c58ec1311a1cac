import { formatTimestamp } from '../source-time.js';
import { centsToDecimal, type CopyValue } from './copy-text.js';
import type { GeneratedOrder } from './order-stream.js';

/**
 * One generated order as a row of each order-stream table, in schema column order (pure).
 * Orders and transactions are never updated in the generated history (last_updated = created_at);
 * a paid payment's last_updated is the payment job's run.
 */
export function salesOrderRow(o: GeneratedOrder): CopyValue[] {
  const at = formatTimestamp(o.createdAtMs);
  return [o.orderId, at, at, o.designId, o.staffId, o.counterpartyId, o.quantity, centsToDecimal(o.unitPriceCents), o.currencyId, o.agreedDeliveryDate, o.agreedPaymentDate, o.deliveryLocationId];
}

export function purchaseOrderRow(o: GeneratedOrder): CopyValue[] {
  const at = formatTimestamp(o.createdAtMs);
  return [o.orderId, at, at, o.staffId, o.counterpartyId, o.itemCode, o.quantity, centsToDecimal(o.unitPriceCents), o.currencyId, o.agreedDeliveryDate, o.agreedPaymentDate, o.deliveryLocationId];
}

export function transactionRow(o: GeneratedOrder): CopyValue[] {
  const at = formatTimestamp(o.createdAtMs);
  const isSale = o.kind === 'sale';
  return [o.transactionId, isSale ? 'SALE' : 'PURCHASE', isSale ? o.orderId : null, isSale ? null : o.orderId, at, at];
}

/** payment_amount = quantity × unit price, exactly, in cents. */
export function paymentRow(o: GeneratedOrder): CopyValue[] {
  return [
    o.transactionId,
    formatTimestamp(o.createdAtMs),
    formatTimestamp(o.paymentLastUpdatedMs),
    o.transactionId,
    o.counterpartyId,
    centsToDecimal(o.quantity * o.unitPriceCents),
    o.currencyId,
    o.paymentTypeId,
    o.paid,
    o.agreedPaymentDate,
    o.companyAcNumber,
    o.counterpartyAcNumber,
  ];
}
