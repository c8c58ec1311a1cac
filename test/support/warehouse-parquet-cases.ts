import { createHash } from 'node:crypto';
import { WAREHOUSE_MODEL, WAREHOUSE_TABLES, type ColumnType, type WarehouseTable } from '../../contracts/warehouse-model.js';
import type { WarehouseRow, WarehouseValue } from '../../contracts/warehouse-row.js';
import { variedRows } from './warehouse-row-variety.js';

/**
 * The row sets whose Parquet bytes and decoded rows are pinned by test/fixtures/warehouse-parquet-v1/
 * (written once by the row-object encoder the columnar codec replaced; that directory's README says
 * how). The processor's idempotence compares sha256 of Parquet files across versions, so these
 * cases must keep giving exactly the v1 bytes. Every case is deterministic: variedRows is seeded.
 * Changing a case, variedRows or the warehouse model changes the bytes, and the pins no longer apply.
 */
export interface ParquetCase {
  name: string;
  table: WarehouseTable;
  rows: () => WarehouseRow[];
}

export function parquetCases(): ParquetCase[] {
  const cases: ParquetCase[] = [];
  const add = (name: string, table: WarehouseTable, rows: () => WarehouseRow[]) => cases.push({ name, table, rows });
  for (const table of WAREHOUSE_TABLES) {
    // Row counts around the encoder's thresholds: empty, single row, 16/17 booleans (PLAIN vs RLE),
    // low cardinality (dictionary pays) and high cardinality (plain), edge-heavy and random.
    add(`${table}-empty`, table, () => []);
    add(`${table}-1-edges`, table, () => variedRows(table, 1, { seed: 11, edgeShare: 1 }));
    add(`${table}-16`, table, () => variedRows(table, 16, { seed: 12 }));
    add(`${table}-17-edges`, table, () => variedRows(table, 17, { seed: 13, edgeShare: 1 }));
    add(`${table}-300-edges`, table, () => variedRows(table, 300, { seed: 14, edgeShare: 1 }));
    add(`${table}-2000-distinct-5`, table, () => variedRows(table, 2000, { seed: 15, distinct: 5, edgeShare: 0 }));
    add(`${table}-2000-distinct-40`, table, () => variedRows(table, 2000, { seed: 16, distinct: 40 }));
    add(`${table}-3000`, table, () => variedRows(table, 3000, { seed: 17, edgeShare: 0.1 }));
  }
  // The dictionary sample and size checks. The 1000 spread samples of 9991 rows land on every 10th
  // row. 850 of them distinct (85%): the sample passes, the full dictionary pays. All distinct (100%):
  // the sample rejects what would have paid. Then around the "dictionary must halve the bytes" line:
  // n distinct of 4 bytes among m values; exactly on the line (2 * (4d + ceil(m * bitWidth / 8)) = 4m)
  // the dictionary does not pay.
  const currency = (count: number, id: (row: number) => number, code: (row: number) => string) => () => {
    const base = variedRows('dim_currency', 1, { seed: 5, edgeShare: 0 })[0];
    return Array.from({ length: count }, (_, r) => ({ ...base, currency_id: id(r), currency_code: code(r), currency_name: null }));
  };
  add('dictionary-sample-passes', 'dim_currency', currency(9991, (r) => (r < 8500 ? Math.floor(r / 10) : 0), (r) => (r < 8500 ? `c${Math.floor(r / 10)}` : 'c0')));
  add('dictionary-sample-rejects', 'dim_currency', currency(9991, (r) => Math.floor(r / 10), (r) => `code ${Math.floor(r / 10)}`));
  add('dictionary-on-the-line', 'dim_currency', currency(32, (r) => r % 12, () => 'GBP'));
  add('dictionary-past-the-line', 'dim_currency', currency(35, (r) => r % 13, () => 'GBP'));
  for (const distinct of [300, 400, 480, 500, 520, 700]) {
    add(`dictionary-2000-distinct-${distinct}`, 'dim_currency', currency(2000, (r) => (r * 7) % distinct, (r) => `${(r * 7) % distinct}`.padStart(2, 'x')));
  }
  // 230k rows: three row groups; unique 40+ byte names overflow the 1 MiB page estimate (offset index).
  add('row-groups-and-pages', 'dim_payment_type', () =>
    variedRows('dim_payment_type', 230_000, { seed: 21, edgeShare: 0.01 }).map((row, i) => ({
      ...row,
      payment_type_name: i % 97 === 0 ? null : `${'payment type name number '}${i}${i % 5 === 0 ? ' é😀' : ''}`,
    })),
  );
  return cases;
}

/** Bad values per column type: the encoder must refuse each with the v1 error class and message. */
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

export interface FailureCase {
  /** The key of the failure v1 gave, in test/fixtures/warehouse-parquet-v1/failures.json. */
  key: string;
  table: WarehouseTable;
  rows: WarehouseRow[];
}

/** Per target column: its bad values in the middle of valid rows, in the first row, and as an absent key. */
export function failureCasesByTarget(): { target: string; cases: FailureCase[] }[] {
  return TARGETS.map(({ table, column }) => {
    const spec = WAREHOUSE_MODEL[table].columns.find((c) => c.name === column)!;
    const rows = variedRows(table, 5, { seed: 3, edgeShare: 0 }).map((row) => ({ ...row, [column]: row[column] ?? BAD[spec.type].find((v) => v !== null) ?? null }));
    const cases: FailureCase[] = [];
    BAD[spec.type].forEach((bad, index) => {
      if (bad === null && spec.nullable) return; // a null is fine there
      for (const at of [2, 0]) cases.push({ key: `${table}.${column}#${index}@${at}`, table, rows: rows.map((row, i) => (i === at ? { ...row, [column]: bad } : row)) });
    });
    if (!spec.nullable) {
      cases.push({ key: `${table}.${column}#absent`, table, rows: rows.map((row, i) => (i === 1 ? Object.fromEntries(Object.entries(row).filter(([key]) => key !== column)) : row)) });
    }
    return { target: `${table}.${column} (${spec.type}${spec.nullable ? ', nullable' : ''})`, cases };
  });
}

/** Several bad values in one file: the first in column order (model order), then row order, is reported. */
export function firstFailureCases(): FailureCase[] {
  const rows = variedRows('fact_sales_order', 6, { seed: 9, edgeShare: 0 });
  const cases: FailureCase[] = [];
  rows[4] = { ...rows[4], sales_order_id: 1.5 }; // first column, later row
  rows[1] = { ...rows[1], unit_price: '1.234', created_date: '2022-02-30' };
  rows[0] = { ...rows[0], commit_ts: 'nope' };
  cases.push({ key: 'first-failure-column-order', table: 'fact_sales_order', rows: [...rows] });
  rows[4] = { ...rows[4], sales_order_id: 7 };
  cases.push({ key: 'first-failure-then-row-order', table: 'fact_sales_order', rows: [...rows] }); // created_date (row 1) before unit_price and commit_ts
  const lsn = variedRows('dim_staff', 4, { seed: 2, edgeShare: 0 });
  lsn[3] = { ...lsn[3], version_lsn: 2n ** 63n }; // only caught while writing: a RangeError in v1
  lsn[2] = { ...lsn[2], version_lsn: 2n ** 64n };
  cases.push({ key: 'first-failure-int64-range', table: 'dim_staff', rows: [...lsn] });
  lsn[1] = { ...lsn[1], email_address: 5 };
  cases.push({ key: 'first-failure-validation-before-range', table: 'dim_staff', rows: [...lsn] }); // validation errors win over the writer's range check
  return cases;
}

export interface EncodeFailure {
  name: string;
  message: string;
  permanent: boolean;
}

export function failureOf(encode: () => unknown): EncodeFailure | 'no error' {
  try {
    encode();
    return 'no error';
  } catch (error) {
    const e = error as Error & { retryable?: boolean };
    return { name: e.name, message: e.message, permanent: e.retryable === false };
  }
}

/**
 * sha256 of decoded rows in a form that tells apart what isDeepStrictEqual does: value types
 * (number, bigint, string), -0 and 0, a missing column and null, and any column the model lacks.
 */
export function decodedRowsDigest(table: WarehouseTable, rows: readonly WarehouseRow[]): string {
  const columns = WAREHOUSE_MODEL[table].columns.map((c) => c.name);
  const tag = (value: WarehouseValue | undefined): unknown => {
    if (value === undefined) return ['undefined'];
    if (typeof value === 'bigint') return ['bigint', value.toString()];
    if (typeof value === 'number') return ['number', Object.is(value, -0) ? '-0' : String(value)];
    return value;
  };
  const hash = createHash('sha256');
  for (const row of rows) {
    const extra = Object.keys(row).filter((key) => !columns.includes(key));
    hash.update(`${JSON.stringify([columns.map((c) => (c in row ? tag(row[c]) : ['absent'])), extra])}\n`);
  }
  return hash.digest('hex');
}

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
