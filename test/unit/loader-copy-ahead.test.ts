import { describe, expect, it } from 'vitest';
import { WAREHOUSE_MODEL, type DimensionSpec } from '../../contracts/warehouse-model.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { copyBinary, copyPayload } from '../../loader/copy-rows.js';
import { rowsValue } from '../../loader/rows-ahead.js';
import { newestPerKey } from '../../loader/first-versions.js';
import { paymentFact, salesFact, staffDim } from '../support/processed-batch-factory.js';

const SALES = WAREHOUSE_MODEL.fact_sales_order;
const PAYMENT = WAREHOUSE_MODEL.fact_payment;
const STAFF = WAREHOUSE_MODEL.dim_staff as DimensionSpec;

/** What copyRows would send, as one byte string: encoded ahead or not, the same rows must give the same bytes. */
function sent(columns: Parameters<typeof copyPayload>[0], rows: readonly WarehouseRow[]): { format: string; bytes: Buffer } {
  const payload = copyPayload(columns, rows);
  return { format: payload.format, bytes: Buffer.concat([...payload.chunks].map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c))) };
}

/** A copy of the rows in a new array (and new row objects): nothing encoded ahead for it. */
const fresh = (rows: readonly WarehouseRow[]) => rows.map((row) => ({ ...row }));

describe('loader: COPY streams encoded ahead (copy-rows.ts copyBinary, rows-ahead.ts)', () => {
  const sales = () => Array.from({ length: 300 }, (_, i) => salesFact(i + 1, BigInt(100 + (i % 7)), { op: i % 3 === 0 ? 'r' : 'c' }));

  it('sends exactly what encoding at COPY time sends, binary or text', () => {
    const rows = sales();
    copyBinary(SALES.columns).keep(rows);
    expect(sent(SALES.columns, rows)).toEqual(sent(SALES.columns, fresh(rows)));
    expect(sent(SALES.columns, rows).format).toBe('binary');
    // A value not in canonical form: text, ahead or not.
    const odd = sales();
    odd[5] = { ...odd[5]!, created_date: '2023-1-2' };
    copyBinary(SALES.columns).keep(odd);
    expect(sent(SALES.columns, odd)).toEqual(sent(SALES.columns, fresh(odd)));
    expect(sent(SALES.columns, odd).format).toBe('text');
  });

  it('is not used for other columns, or once rows were added to the array', () => {
    const rows = Array.from({ length: 50 }, (_, i) => paymentFact(i + 1, 200n));
    copyBinary(PAYMENT.columns).keep(rows);
    const fewer = PAYMENT.columns.slice(0, 4);
    expect(sent(fewer, rows)).toEqual(sent(fewer, fresh(rows)));
    rows.push(paymentFact(51, 201n));
    expect(sent(PAYMENT.columns, rows)).toEqual(sent(PAYMENT.columns, fresh(rows)));
  });

  it('keeps a value per rows array and name once asked to, computed again once the array has grown', () => {
    const rows = [salesFact(1, 10n)];
    let computed = 0;
    const count = rowsValue('count', (r) => (++computed, r.length));
    expect(count.of(rows)).toBe(1);
    expect(computed).toBe(1); // not kept: computed when asked
    count.keep(rows);
    expect([count.of(rows), count.of(rows)]).toEqual([1, 1]);
    expect(computed).toBe(2);
    expect(rowsValue('other name', () => 'other').of(rows)).toBe('other');
    rows.push(salesFact(2, 10n));
    expect(count.of(rows)).toBe(2);
    expect(computed).toBe(3);
    expect(count.of([...rows])).toBe(2);
    expect(computed).toBe(4);
  });

  it("newestPerKey hands back the same array when no key repeats (a snapshot file's encoding is used), a new one otherwise", () => {
    const distinct = [staffDim(1, 10n), staffDim(2, 10n), staffDim(3, 11n)];
    expect(newestPerKey(STAFF, distinct)).toBe(distinct);
    const repeated = [staffDim(1, 10n), staffDim(2, 10n), staffDim(1, 12n, { first_name: 'newer' })];
    const newest = newestPerKey(STAFF, repeated);
    expect(newest).not.toBe(repeated);
    expect(newest.map((r) => [r.staff_id, r.first_name])).toEqual([[1, 'newer'], [2, repeated[1]!.first_name]]);
  });
});
