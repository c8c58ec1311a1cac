import { describe, expect, it } from 'vitest';
import { WAREHOUSE_MODEL, type ColumnType, type WarehouseTable } from '../../contracts/warehouse-model.js';
import type { WarehouseRow, WarehouseValue } from '../../contracts/warehouse-row.js';
import { encodeWarehouseParquet, WarehouseValueError } from '../../parquet/warehouse-parquet.js';
import { variedRows } from '../support/warehouse-row-variety.js';
import { legacyEncodeWarehouseParquet } from '../support/warehouse-parquet-v1.js';

/**
 * Bad values must fail exactly as they did with the row-object encoder: same error class, same
 * message (table, column, reason, the value), and with several bad values the same one reported.
 */
function failureOf(encode: () => unknown): { name: string; message: string; permanent: boolean } | 'no error' {
  try {
    encode();
    return 'no error';
  } catch (error) {
    const e = error as Error & { retryable?: boolean };
    return { name: e.name, message: e.message, permanent: e.retryable === false };
  }
}

function expectSameFailure(table: WarehouseTable, rows: WarehouseRow[]): void {
  const legacy = failureOf(() => legacyEncodeWarehouseParquet(table, rows));
  expect(legacy).not.toBe('no error');
  expect(failureOf(() => encodeWarehouseParquet(table, rows))).toEqual(legacy);
}

const BAD: Record<ColumnType, WarehouseValue[]> = {
  int: [1.5, '1', 2 ** 31, -(2 ** 31), 2 ** 31 - 0.5, NaN, Infinity, true, 1n, null],
  bigint: [1.5, '1', 2 ** 53, NaN, true, null, 2n ** 63n, -(2n ** 63n) - 1n, 2n ** 64n],
  text: [1, true, 1n, null],
  boolean: ['true', 0, 1, 1n, null],
  date: ['2022-02-30', '2023-02-29', '1900-02-29', '2022-13-01', '2022-00-10', '2022-01-00', '2022-2-3', '0099-12-31', '0000-01-01', '2022-01-01 ', ' 2022-01-01', '2022-01-01T00:00:00', '２０２２-01-01', '2022/01/01', '', 20220101, 1n, null],
  time: ['1:00:00', '12:00', '12:00:00.1234', '12:00:00.', '12-00-00', '12:00:00Z', '', 3600, true, null],
  money: [3.94, '1.234', '123456789.00', '--1', '+1', '.5', '1.', '-', '', '1e3', '1,00', ' 1.00', '１.00', 394n, null],
  timestamptz: ['not a date', '', '2026-13-01T00:00:00.000Z', 12345, 1n, true, null],
};

/** A table with a column of each type and nullability, and the column to spoil. */
const TARGETS: { table: WarehouseTable; column: string }[] = [
  { table: 'fact_payment', column: 'payment_id' }, // int
  { table: 'dim_transaction', column: 'sales_order_id' }, // nullable int
  { table: 'fact_payment', column: 'source_lsn' }, // bigint
  { table: 'dim_staff', column: 'version_lsn' }, // bigint
  { table: 'fact_payment', column: 'op' }, // text
  { table: 'dim_location', column: 'city' }, // nullable text
  { table: 'fact_payment', column: 'paid' }, // boolean
  { table: 'fact_payment', column: 'payment_date' }, // date
  { table: 'dim_date', column: 'date_id' }, // date
  { table: 'fact_sales_order', column: 'created_time' }, // time
  { table: 'fact_payment', column: 'payment_amount' }, // money
  { table: 'fact_purchase_order', column: 'commit_ts' }, // timestamptz
];

describe('columnar warehouse Parquet encoder: validation errors unchanged', () => {
  for (const { table, column } of TARGETS) {
    const spec = WAREHOUSE_MODEL[table].columns.find((c) => c.name === column)!;
    it(`${table}.${column} (${spec.type}${spec.nullable ? ', nullable' : ''}) rejects bad values as before`, () => {
      const rows = variedRows(table, 5, { seed: 3, edgeShare: 0 }).map((row) => ({ ...row, [column]: row[column] ?? BAD[spec.type].find((v) => v !== null) ?? null }));
      let checked = 0;
      for (const bad of BAD[spec.type]) {
        if (bad === null && spec.nullable) continue; // a null is fine there
        // In the middle of valid rows, in the first row, and as an absent key (read as null).
        expectSameFailure(table, rows.map((row, i) => (i === 2 ? { ...row, [column]: bad } : row)));
        expectSameFailure(table, rows.map((row, i) => (i === 0 ? { ...row, [column]: bad } : row)));
        checked++;
      }
      if (!spec.nullable) {
        expectSameFailure(table, rows.map((row, i) => (i === 1 ? Object.fromEntries(Object.entries(row).filter(([key]) => key !== column)) : row)));
      }
      expect(checked).toBeGreaterThan(2);
    });
  }

  it('reports the same first failure when several values are bad (columns in model order, then rows)', () => {
    const rows = variedRows('fact_sales_order', 6, { seed: 9, edgeShare: 0 });
    rows[4] = { ...rows[4], sales_order_id: 1.5 }; // first column, later row
    rows[1] = { ...rows[1], unit_price: '1.234', created_date: '2022-02-30' };
    rows[0] = { ...rows[0], commit_ts: 'nope' };
    expectSameFailure('fact_sales_order', rows);
    rows[4] = { ...rows[4], sales_order_id: 7 };
    expectSameFailure('fact_sales_order', rows); // now created_date (row 1) before unit_price and commit_ts
    const lsn = variedRows('dim_staff', 4, { seed: 2, edgeShare: 0 });
    lsn[3] = { ...lsn[3], version_lsn: 2n ** 63n }; // only caught while writing: a RangeError, as before
    lsn[2] = { ...lsn[2], version_lsn: 2n ** 64n };
    expectSameFailure('dim_staff', lsn);
    lsn[1] = { ...lsn[1], email_address: 5 };
    expectSameFailure('dim_staff', lsn); // validation errors win over the writer's range check
  });

  it('throws WarehouseValueError, permanent, naming table and column', () => {
    const row = variedRows('fact_payment', 1, { seed: 4, edgeShare: 0 })[0];
    let caught: unknown;
    try {
      encodeWarehouseParquet('fact_payment', [{ ...row, payment_date: '2022-02-30' }]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WarehouseValueError);
    expect(caught).toMatchObject({ table: 'fact_payment', column: 'payment_date', retryable: false, message: 'fact_payment.payment_date: not a calendar date (got "2022-02-30")' });
  });
});
