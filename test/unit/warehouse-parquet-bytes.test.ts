import { isDeepStrictEqual } from 'node:util';
import { parquetMetadata } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { WAREHOUSE_MODEL, WAREHOUSE_TABLES, type WarehouseTable } from '../../contracts/warehouse-model.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { decodeWarehouseParquet, encodeWarehouseParquet } from '../../parquet/warehouse-parquet.js';
import { realisticTableBatches } from '../support/warehouse-batches.js';
import { variedRows } from '../support/warehouse-row-variety.js';
import { legacyDecodeWarehouseParquet, legacyEncodeWarehouseParquet } from '../support/warehouse-parquet-v1.js';

/**
 * The processor's idempotence compares sha256 of Parquet files across versions, so the columnar
 * encoder must write exactly the bytes of the frozen row-object encoder (warehouse-parquet-v1.ts)
 * for the same rows, and the columnar decoder must give exactly the rows the old decoder gave.
 */
/** What the encoded files exercised (encodings, page indexes, row groups), so the cases provably reach every path. */
const seen = new Set<string>();

async function expectSameAsLegacy(table: WarehouseTable, rows: readonly WarehouseRow[]): Promise<void> {
  const legacy = legacyEncodeWarehouseParquet(table, rows);
  const metadata = parquetMetadata(legacy.buffer.slice(legacy.byteOffset, legacy.byteOffset + legacy.byteLength) as ArrayBuffer);
  if (metadata.row_groups.length > 1) seen.add('several row groups');
  for (const chunk of metadata.row_groups.flatMap((group) => group.columns)) {
    for (const encoding of chunk.meta_data!.encodings) seen.add(`${chunk.meta_data!.type} ${encoding}`);
    if (chunk.offset_index_offset !== undefined) seen.add('offset index');
    if (chunk.meta_data!.statistics?.null_count) seen.add('nulls');
  }
  const current = encodeWarehouseParquet(table, rows);
  if (Buffer.compare(legacy, current) !== 0) {
    const at = legacy.findIndex((byte, i) => byte !== current[i]);
    expect.fail(`${table} (${rows.length} rows): bytes differ from the legacy encoder at offset ${at} (lengths ${legacy.length} / ${current.length})`);
  }
  const decoded = await decodeWarehouseParquet(table, legacy);
  expect(decoded).toEqual(await legacyDecodeWarehouseParquet(table, legacy));
  // toEqual treats -0/0 and undefined/absent loosely; the contract is exact.
  expect(isDeepStrictEqual(decoded, await legacyDecodeWarehouseParquet(table, legacy))).toBe(true);
}

describe('columnar warehouse Parquet codec: byte-identical to the legacy encoder', () => {
  for (const table of WAREHOUSE_TABLES) {
    it(`${table}: edge values, nulls, unicode, dictionary and plain pages`, async () => {
      // Row counts around the encoder's thresholds: empty, single row, 16/17 booleans (PLAIN vs RLE),
      // low cardinality (dictionary pays) and high cardinality (plain), edge-heavy and random.
      await expectSameAsLegacy(table, []);
      await expectSameAsLegacy(table, variedRows(table, 1, { seed: 11, edgeShare: 1 }));
      await expectSameAsLegacy(table, variedRows(table, 16, { seed: 12 }));
      await expectSameAsLegacy(table, variedRows(table, 17, { seed: 13, edgeShare: 1 }));
      await expectSameAsLegacy(table, variedRows(table, 300, { seed: 14, edgeShare: 1 }));
      await expectSameAsLegacy(table, variedRows(table, 2000, { seed: 15, distinct: 5, edgeShare: 0 }));
      await expectSameAsLegacy(table, variedRows(table, 2000, { seed: 16, distinct: 40 }));
      await expectSameAsLegacy(table, variedRows(table, 3000, { seed: 17, edgeShare: 0.1 }));
    });
  }

  it('uses every column type of the model (so the cases above cover each)', () => {
    const types = new Set(WAREHOUSE_TABLES.flatMap((table) => WAREHOUSE_MODEL[table].columns.map((column) => `${column.type}/${column.nullable}`)));
    expect([...types].sort()).toEqual(
      ['bigint/false', 'boolean/false', 'date/false', 'int/false', 'int/true', 'money/false', 'text/false', 'text/true', 'time/false', 'timestamptz/false'].sort(),
    );
  });

  it('the dictionary sample and size checks decide exactly as before', async () => {
    const base = variedRows('dim_currency', 1, { seed: 5, edgeShare: 0 })[0];
    const rows = (count: number, id: (row: number) => number, code: (row: number) => string) =>
      Array.from({ length: count }, (_, r) => ({ ...base, currency_id: id(r), currency_code: code(r), currency_name: null }));
    // The 1000 spread samples of 9991 rows land on every 10th row. 850 of them distinct (85%): the sample
    // passes, the full dictionary pays. All distinct (100%): the sample rejects what would have paid.
    await expectSameAsLegacy('dim_currency', rows(9991, (r) => (r < 8500 ? Math.floor(r / 10) : 0), (r) => (r < 8500 ? `c${Math.floor(r / 10)}` : 'c0')));
    await expectSameAsLegacy('dim_currency', rows(9991, (r) => Math.floor(r / 10), (r) => `code ${Math.floor(r / 10)}`));
    // Around the "dictionary must halve the bytes" line: n distinct of 4 bytes among m values.
    // Exactly on the line (2 * (4d + ceil(m * bitWidth / 8)) = 4m): the dictionary does not pay.
    await expectSameAsLegacy('dim_currency', rows(32, (r) => r % 12, () => 'GBP'));
    await expectSameAsLegacy('dim_currency', rows(35, (r) => r % 13, () => 'GBP'));
    for (const distinct of [300, 400, 480, 500, 520, 700]) {
      await expectSameAsLegacy('dim_currency', rows(2000, (r) => (r * 7) % distinct, (r) => `${(r * 7) % distinct}`.padStart(2, 'x')));
    }
  });

  it('several row groups and multi-page text chunks (offset index) come out identical', async () => {
    // 230k rows: three row groups; unique 40+ byte names overflow the 1 MiB page estimate.
    const rows = variedRows('dim_payment_type', 230_000, { seed: 21, edgeShare: 0.01 }).map((row, i) => ({
      ...row,
      payment_type_name: i % 97 === 0 ? null : `${'payment type name number '}${i}${i % 5 === 0 ? ' é😀' : ''}`,
    }));
    await expectSameAsLegacy('dim_payment_type', rows);
    expect(seen).toContain('several row groups');
    expect(seen).toContain('offset index');
  }, 60_000);

  it('realistic processor batches (generateWorkload through the real transforms) come out identical', async () => {
    const batches = await realisticTableBatches(24_000, 8_000, 3);
    expect(new Set(batches.map((batch) => batch.table)).size).toBe(WAREHOUSE_TABLES.length);
    for (const { table, rows } of batches) await expectSameAsLegacy(table, rows);
  }, 60_000);

  it('the cases above reach every page encoding the encoder can choose', () => {
    for (const path of ['INT32 PLAIN', 'INT32 RLE_DICTIONARY', 'INT64 PLAIN', 'INT64 RLE_DICTIONARY', 'BYTE_ARRAY PLAIN', 'BYTE_ARRAY RLE_DICTIONARY', 'BOOLEAN PLAIN', 'BOOLEAN RLE', 'nulls']) {
      expect(seen).toContain(path);
    }
  });
});
