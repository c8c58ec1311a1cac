import { MS_PER_DAY, isWeekday, startOfUtcDay } from '../source-time.js';

/**
 * What a seed of a given scale contains and when things happened. Scale 1 reproduces the real
 * totesys of 2024-11-15 (docs/architecture.md#the-totesys-source-model): orders on weekdays 08:00–19:00 from 2022-11-03 14:20 to
 * 2024-11-15 14:40 at a steady ~21 sales and ~9 purchases a day. Scale S multiplies the order rate
 * (same period, so volumes per day grow), designs grow with √S, the other dimensions stay fixed.
 * All instants are fixed constants: the same seed always yields the same rows.
 */
const REAL_SALES_ORDERS = 11_188;
const REAL_PURCHASE_ORDERS = 4_650;
const REAL_DESIGNS = 470;
export const INITIAL_DESIGNS = 10;
export const ADDRESS_COUNT = 30;
export const COUNTERPARTY_COUNT = 20;
export const STAFF_COUNT = 20;
/** Share of due payments the daily job marks paid (real: 60.9% of all payments). */
export const PAID_SHARE_OF_DUE = 0.615;

export const DIMENSIONS_CREATED_AT = Date.UTC(2022, 10, 3, 14, 20, 49, 962);
export const PEOPLE_CREATED_AT = Date.UTC(2022, 10, 3, 14, 20, 51, 563);
const FIRST_ORDER_AT = Date.UTC(2022, 10, 3, 14, 20, 52, 186);
/** The instant the generated history ends: the "as of" of a seeded database. */
export const SNAPSHOT_AT = Date.UTC(2024, 10, 15, 14, 40, 10, 188);
const BUSINESS_OPENS_MS = 8 * 3_600_000;
const BUSINESS_CLOSES_MS = 19 * 3_600_000;
/** The daily payment job runs at about 07:55 (real paid rows: last_updated 07:5x on payment_date). */
export const PAYMENT_JOB_MS = 7 * 3_600_000 + 55 * 60_000;

export interface BusinessWindow {
  startMs: number;
  endMs: number;
  /** Window length as a share of a full 11-hour business day. */
  weight: number;
}

export interface SeedPlan {
  scale: number;
  salesOrdersExpected: number;
  purchaseOrdersExpected: number;
  designs: number;
  windows: readonly BusinessWindow[];
  totalWeight: number;
}

function validateScale(scale: number): void {
  if (!Number.isFinite(scale) || scale <= 0 || scale > 10_000) {
    throw new RangeError(`scale must be a number in (0, 10000], got ${scale}`);
  }
}

export function planSeed(scale: number): SeedPlan {
  validateScale(scale);
  const windows: BusinessWindow[] = [];
  let totalWeight = 0;
  for (let day = startOfUtcDay(FIRST_ORDER_AT); day <= SNAPSHOT_AT; day += MS_PER_DAY) {
    if (!isWeekday(day)) continue;
    const startMs = Math.max(day + BUSINESS_OPENS_MS, FIRST_ORDER_AT);
    const endMs = Math.min(day + BUSINESS_CLOSES_MS, SNAPSHOT_AT);
    if (endMs <= startMs) continue;
    const weight = (endMs - startMs) / (BUSINESS_CLOSES_MS - BUSINESS_OPENS_MS);
    windows.push({ startMs, endMs, weight });
    totalWeight += weight;
  }
  return {
    scale,
    salesOrdersExpected: REAL_SALES_ORDERS * scale,
    purchaseOrdersExpected: REAL_PURCHASE_ORDERS * scale,
    designs: Math.max(INITIAL_DESIGNS + 1, Math.round(REAL_DESIGNS * Math.sqrt(scale))),
    windows,
    totalWeight,
  };
}
