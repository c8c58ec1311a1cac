import { createPrng, poisson, type Prng } from '../prng.js';
import { MS_PER_DAY, formatDate, startOfUtcDay } from '../source-time.js';
import { CURRENCY_CODES, ITEM_CODE_ALPHABET, PURCHASE_PAYMENT_ID, SALES_RECEIPT_ID } from './reference-values.js';
import { ADDRESS_COUNT, COUNTERPARTY_COUNT, PAID_SHARE_OF_DUE, PAYMENT_JOB_MS, SNAPSHOT_AT, STAFF_COUNT, type SeedPlan } from './seed-plan.js';

/**
 * The lazily generated order history: one `GeneratedOrder` per sales or purchase order, in
 * creation order, each with its transaction and payment. The stream is a pure function of
 * (seed, plan, design creation times) so it can be replayed once per table for COPY without
 * keeping anything in memory. Day counts, times and attributes come from separate PRNG forks, so
 * counting the orders (for progress totals) needs only the cheap count draws.
 */
export interface GeneratedOrder {
  kind: 'sale' | 'purchase';
  /** sales_order_id or purchase_order_id. */
  orderId: number;
  /** transaction_id, and also payment_id (one of each per order, ids in creation order). */
  transactionId: number;
  createdAtMs: number;
  staffId: number;
  counterpartyId: number;
  currencyId: number;
  deliveryLocationId: number;
  /** sales only */
  designId: number;
  /** purchases only */
  itemCode: string;
  /** units_sold or item_quantity */
  quantity: number;
  unitPriceCents: number;
  agreedDeliveryDate: string;
  agreedPaymentDate: string;
  paymentTypeId: number;
  paid: boolean;
  /** payment.last_updated: the payment job's run when paid, else the creation time. */
  paymentLastUpdatedMs: number;
  companyAcNumber: number;
  counterpartyAcNumber: number;
}

/** Real agreed-date offsets in days after creation (2024-11-15 snapshot). */
const DELIVERY_OFFSET_WEIGHTS = [6, 14.5, 14.5, 14.5, 14.5, 14.5, 13.5, 8];
const PAYMENT_OFFSET_WEIGHTS = [7, 17, 16, 17, 16.5, 17, 9.5];
/** A few orders (0.3%) agree delivery weeks or months ahead. */
const LONG_DELIVERY_SHARE = 0.003;

export interface OrderCounts {
  sales: number;
  purchases: number;
}

function dayCounts(seed: number, plan: SeedPlan): Generator<OrderCounts> {
  const prng = createPrng(seed, 'order-counts');
  const salesPerWeight = plan.salesOrdersExpected / plan.totalWeight;
  const purchasesPerWeight = plan.purchaseOrdersExpected / plan.totalWeight;
  return (function* () {
    for (const w of plan.windows) {
      yield { sales: poisson(prng, salesPerWeight * w.weight), purchases: poisson(prng, purchasesPerWeight * w.weight) };
    }
  })();
}

export function countOrders(seed: number, plan: SeedPlan): OrderCounts {
  const total = { sales: 0, purchases: 0 };
  for (const c of dayCounts(seed, plan)) {
    total.sales += c.sales;
    total.purchases += c.purchases;
  }
  return total;
}

function sortedTimes(prng: Prng, count: number, startMs: number, endMs: number): Float64Array {
  const times = new Float64Array(count);
  for (let i = 0; i < count; i++) times[i] = startMs + Math.floor(prng.next() * (endMs - startMs));
  return times.sort();
}

function offsetDays(prng: Prng, weights: readonly number[]): number {
  return prng.weightedIndex(weights);
}

function itemCode(prng: Prng): string {
  let code = '';
  for (let i = 0; i < 7; i++) code += ITEM_CODE_ALPHABET[prng.int(0, ITEM_CODE_ALPHABET.length - 1)];
  return code;
}

/** How many designs exist at `atMs` (designTimes sorted ascending; ids are 1..n in that order). */
function designsCreatedBy(designTimes: readonly number[], atMs: number): number {
  let lo = 0;
  let hi = designTimes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (designTimes[mid] <= atMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function* generateOrders(seed: number, plan: SeedPlan, designTimes: readonly number[]): Generator<GeneratedOrder> {
  const timesPrng = createPrng(seed, 'order-times');
  const prng = createPrng(seed, 'order-attributes');
  let salesId = 0;
  let purchaseId = 0;
  let transactionId = 0;
  let dayIndex = 0;
  for (const counts of dayCounts(seed, plan)) {
    const w = plan.windows[dayIndex++];
    const sales = sortedTimes(timesPrng, counts.sales, w.startMs, w.endMs);
    const purchases = sortedTimes(timesPrng, counts.purchases, w.startMs, w.endMs);
    let s = 0;
    let p = 0;
    while (s < sales.length || p < purchases.length) {
      const isSale = p >= purchases.length || (s < sales.length && sales[s] <= purchases[p]);
      const createdAtMs = isSale ? sales[s++] : purchases[p++];
      yield makeOrder(prng, {
        kind: isSale ? 'sale' : 'purchase',
        orderId: isSale ? ++salesId : ++purchaseId,
        transactionId: ++transactionId,
        createdAtMs,
        designsAvailable: Math.max(1, designsCreatedBy(designTimes, createdAtMs)),
      });
    }
  }
}

function makeOrder(
  prng: Prng,
  base: { kind: 'sale' | 'purchase'; orderId: number; transactionId: number; createdAtMs: number; designsAvailable: number },
): GeneratedOrder {
  const isSale = base.kind === 'sale';
  const day = startOfUtcDay(base.createdAtMs);
  // Every draw happens for every order, in this fixed order: the sequence must not depend on values.
  const staffId = prng.int(1, STAFF_COUNT);
  const counterpartyId = prng.int(1, COUNTERPARTY_COUNT);
  const currencyId = prng.int(1, CURRENCY_CODES.length);
  const deliveryLocationId = prng.int(1, ADDRESS_COUNT);
  const designId = prng.int(1, base.designsAvailable);
  const code = itemCode(prng);
  const quantity = isSale ? prng.int(1_000, 100_000) : prng.int(1, 999);
  const unitPriceCents = isSale ? prng.int(200, 400) : prng.int(100, 100_000);
  const longDelivery = prng.chance(LONG_DELIVERY_SHARE);
  const longDays = prng.int(8, 650);
  const deliveryDays = longDelivery ? longDays : offsetDays(prng, DELIVERY_OFFSET_WEIGHTS);
  const paymentDays = offsetDays(prng, PAYMENT_OFFSET_WEIGHTS);
  const paymentDay = day + paymentDays * MS_PER_DAY;
  let paidAtMs = paymentDay + PAYMENT_JOB_MS + prng.int(0, 600_000);
  if (paidAtMs <= base.createdAtMs) paidAtMs += MS_PER_DAY; // created after today's job: paid by tomorrow's
  const paidIfDue = prng.chance(PAID_SHARE_OF_DUE);
  const paid = paidIfDue && paidAtMs <= SNAPSHOT_AT;
  const companyAcNumber = prng.int(10_000_000, 99_999_999);
  const counterpartyAcNumber = prng.int(10_000_000, 99_999_999);
  return {
    kind: base.kind,
    orderId: base.orderId,
    transactionId: base.transactionId,
    createdAtMs: base.createdAtMs,
    staffId,
    counterpartyId,
    currencyId,
    deliveryLocationId,
    designId,
    itemCode: code,
    quantity,
    unitPriceCents,
    agreedDeliveryDate: formatDate(day + deliveryDays * MS_PER_DAY),
    agreedPaymentDate: formatDate(paymentDay),
    paymentTypeId: isSale ? SALES_RECEIPT_ID : PURCHASE_PAYMENT_ID,
    paid,
    paymentLastUpdatedMs: paid ? paidAtMs : base.createdAtMs,
    companyAcNumber,
    counterpartyAcNumber,
  };
}
