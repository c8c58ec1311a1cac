import { describe, expect, it } from 'vitest';
import { WAREHOUSE_MODEL } from '../../contracts/warehouse-model.js';
import { copyTextChunks, copyTextLine, copyTextValue } from '../../loader/copy-text.js';
import { loadOrder } from '../../loader/load-manifest.js';

describe('COPY text encoding', () => {
  it('escapes the characters that would split rows or columns and encodes NULL, booleans, bigints', () => {
    expect(copyTextValue('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyTextValue('\\N')).toBe('\\\\N'); // the literal text, not NULL
    expect(copyTextValue(null)).toBe('\\N');
    expect([copyTextValue(true), copyTextValue(false), copyTextValue(2n ** 40n), copyTextValue(7)]).toEqual(['t', 'f', '1099511627776', '7']);
    const columns = WAREHOUSE_MODEL.dim_currency.columns;
    expect(copyTextLine(columns, { currency_id: 1, currency_code: 'GBP', currency_name: null, version_lsn: 5n, version_seq: 0, is_deleted: false })).toBe('1\tGBP\t\\N\t5\t0\tf\n');
  });

  it('chunks without splitting a row', () => {
    const columns = WAREHOUSE_MODEL.dim_payment_type.columns;
    const rows = Array.from({ length: 100 }, (_, i) => ({ payment_type_id: i, payment_type_name: 'SALES_RECEIPT', version_lsn: 1n, version_seq: 0, is_deleted: false }));
    const chunks = [...copyTextChunks(columns, rows, 100)];
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks.every((c) => c.endsWith('\n'))).toBe(true);
    expect(chunks.join('').split('\n')).toHaveLength(101);
  });

  it('loads dimensions (dim_date first) before facts', () => {
    const file = (table: string) => ({ table, key: `${table}/x.parquet`, rows: 1, bytes: 1, sha256: '' }) as never;
    expect(loadOrder([file('fact_payment'), file('dim_staff'), file('dim_date')]).map((f) => f.table)).toEqual(['dim_date', 'dim_staff', 'fact_payment']);
  });
});
