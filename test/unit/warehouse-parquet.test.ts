import { describe, expect, it } from 'vitest';
import { decodeWarehouseParquet, encodeWarehouseParquet, WarehouseValueError } from '../../parquet/warehouse-parquet.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { readParquetWithDuckDb } from '../support/duckdb.js';
import { paymentFact } from '../support/processed-batch-factory.js';

// A fact_payment row as the processor writes it: an update at LSN 0/16B37A0, exact decimal and time of day.
const payment: WarehouseRow = paymentFact(2, 0x16b37a0n, {
  counterparty_id: 15,
  currency_id: 2,
  payment_type_id: 3,
  event_id: '0/16B37A0/3',
  op: 'u',
  source_seq: 3,
  commit_ts: '2026-11-22T12:00:00.123Z',
});

describe('warehouse Parquet codec', () => {
  it('round-trips exact values through our reader', async () => {
    const second = { ...payment, payment_id: 3, payment_amount: '3.94', paid: true, created_time: '00:00:00.000', event_id: '0/16B37A0/4' };
    const bytes = encodeWarehouseParquet('fact_payment', [payment, second]);
    expect(await decodeWarehouseParquet('fact_payment', bytes)).toEqual([payment, second]);
  });

  it('writes real Parquet logical types that DuckDB reads exactly', async () => {
    const bytes = encodeWarehouseParquet('fact_payment', [payment]);
    const { rows, types } = await readParquetWithDuckDb(bytes, 'SELECT payment_amount::VARCHAR AS amount, created_date::VARCHAR AS d, created_time::VARCHAR AS t, commit_ts, source_lsn, paid FROM file');
    expect(rows[0]).toMatchObject({ amount: '552548.62', d: '2022-11-03', t: '14:20:52.187', source_lsn: 0x16b37a0n, paid: false });
    expect(types.commit_ts).toBe('TIMESTAMP WITH TIME ZONE');
    const schema = await readParquetWithDuckDb(bytes, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM file) WHERE column_name IN ('payment_amount','created_date','created_time')");
    expect(Object.fromEntries(schema.rows.map((r) => [r.column_name, r.column_type]))).toEqual({
      payment_amount: 'DECIMAL(10,2)',
      created_date: 'DATE',
      created_time: 'TIME',
    });
  });

  it('keeps nulls in nullable columns and refuses them in required ones', async () => {
    const location = { location_id: 1, address_line_1: 'x', address_line_2: null, district: null, city: 'c', postal_code: 'p', country: 'k', phone: '1', version_lsn: 1n, version_seq: 0, is_deleted: false };
    expect(await decodeWarehouseParquet('dim_location', encodeWarehouseParquet('dim_location', [location]))).toEqual([location]);
    expect(() => encodeWarehouseParquet('fact_payment', [{ ...payment, payment_id: null }])).toThrow(WarehouseValueError);
  });

  it('rejects values that would lose precision or meaning', () => {
    expect(() => encodeWarehouseParquet('fact_payment', [{ ...payment, payment_amount: 3.94 }])).toThrow(/exact decimal/);
    expect(() => encodeWarehouseParquet('fact_payment', [{ ...payment, payment_amount: '1.234' }])).toThrow(/exact decimal/);
    expect(() => encodeWarehouseParquet('fact_payment', [{ ...payment, payment_date: '2022-02-30' }])).toThrow(/calendar date/);
  });
});
