import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from } from 'pg-copy-streams';
import { describe, expect, it } from 'vitest';
import type { ColumnSpec } from '../../contracts/warehouse-model.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { encodeCopyBinary } from '../../loader/copy-binary.js';
import { copyFromStdin, copyRows, type CopyFormat } from '../../loader/copy-rows.js';
import { copyTextChunks } from '../../loader/copy-text.js';
import { useWarehouseTestbed } from '../support/warehouse-testbed.js';

/** Every column type of the warehouse model (warehouse-model.ts), each nullable. */
const COLUMNS: ColumnSpec[] = [
  { name: 'i', type: 'int', nullable: true },
  { name: 'b', type: 'bigint', nullable: true },
  { name: 't', type: 'text', nullable: true },
  { name: 'd', type: 'date', nullable: true },
  { name: 'tm', type: 'time', nullable: true },
  { name: 'm', type: 'money', nullable: true },
  { name: 'f', type: 'boolean', nullable: true },
  { name: 'ts', type: 'timestamptz', nullable: true },
];
const DDL = '(i int, b bigint, t text, d date, tm time(3), m numeric(10,2), f boolean, ts timestamptz(3))';

/** Canonical values at the edges of each type (warehouse-row.ts forms). */
const ROWS: WarehouseRow[] = [
  { i: 0, b: 0n, t: '', d: '2000-01-01', tm: '00:00:00.000', m: '0.00', f: false, ts: '2000-01-01T00:00:00.000Z' },
  { i: 2147483647, b: 9223372036854775807n, t: 'tab\there, newline\n, backslash \\, quote " and \\N', d: '9999-12-31', tm: '23:59:59.999', m: '99999999.99', f: true, ts: '9999-12-31T23:59:59.999Z' },
  { i: -2147483648, b: -9223372036854775808n, t: 'ünïcødé 🎉 Ω', d: '0100-03-01', tm: '12:34:56.789', m: '-99999999.99', f: true, ts: '1969-12-31T23:59:59.999Z' },
  { i: 7, b: 16787196n, t: 'Design 39', d: '1999-12-31', tm: '08:00:07.598', m: '0.05', f: false, ts: '1999-12-31T23:59:59.999Z' },
  { i: 12, b: 1n, t: 'x', d: '2024-02-29', tm: '00:00:00.001', m: '-0.5', f: false, ts: '2026-11-22T08:00:07.598Z' },
  { i: 13, b: 2n, t: 'y', d: '2026-11-23', tm: '10:00:00.000', m: '10000', f: true, ts: '2026-11-23T10:00:00.000Z' },
  { i: 14, b: 3n, t: 'z', d: '2026-11-23', tm: '10:00:00.000', m: '9999.9', f: true, ts: '2026-11-23T10:00:00.000Z' },
  { i: null, b: null, t: null, d: null, tm: null, m: null, f: null, ts: null },
];

describe('binary COPY', () => {
  const testbed = useWarehouseTestbed('loader_copy_binary');

  const copySql = (table: string, format: CopyFormat) => `COPY ${table} (i, b, t, d, tm, m, f, ts) ${copyFromStdin(format)}`;

  /** The table's rows as the text Postgres gives back, so every difference shows (no driver conversion). */
  const read = async (table: string) => {
    const { rows } = await testbed.client.query(`SELECT i::text, b::text, t, d::text, tm::text, m::text, f::text, ts AT TIME ZONE 'UTC' AS ts FROM ${table} ORDER BY i NULLS LAST`);
    return rows.map((r) => ({ ...r, ts: r.ts === null ? null : String(r.ts) }));
  };

  /** Loads `rows` into a new table with copyRows, which must choose `format`. */
  const load = async (table: string, format: CopyFormat, rows: WarehouseRow[]) => {
    await testbed.client.query(`CREATE TABLE ${table} ${DDL}`);
    await copyRows(testbed.client, (chosen) => {
      if (chosen !== format) throw new Error(`expected ${format}, the rows went as ${chosen}`);
      return copySql(table, chosen);
    }, COLUMNS, rows);
    return read(table);
  };

  it('stores exactly what the text format stores, for every column type and its edge values', async () => {
    await testbed.client.query(`CREATE TABLE via_text ${DDL}`);
    await pipeline(Readable.from(copyTextChunks(COLUMNS, ROWS)), testbed.client.query(from(copySql('via_text', 'text'))));
    const viaText = await read('via_text');
    const viaBinary = await load('via_binary', 'binary', ROWS);
    expect(viaBinary).toEqual(viaText);
    expect(viaBinary.find((r) => r.i === '2147483647')).toMatchObject({ m: '99999999.99', tm: '23:59:59.999', d: '9999-12-31' });
    expect(viaBinary.find((r) => r.i === '12')).toMatchObject({ m: '-0.50', d: '2024-02-29' });
  });

  it('leaves a value that is not in its canonical form to Postgres: the rows go as text', async () => {
    const odd: WarehouseRow[] = [
      { ...ROWS[3]!, i: 1, d: '2026-2-3' }, // Postgres reads it; our fast path does not
    ];
    expect(encodeCopyBinary(COLUMNS, odd)).toBeNull();
    expect(await load('odd_date', 'text', odd)).toMatchObject([{ i: '1', d: '2026-02-03' }]);
    const odds: Record<string, unknown>[] = [{ tm: '24:00:00.000' }, { i: 2 ** 31 }, { i: 1.5 }, { m: '1.234' }, { b: 2n ** 63n }, { f: 't' }, { t: 5 }, { d: '2026-02-30' }];
    for (const value of odds) {
      expect(encodeCopyBinary(COLUMNS, [{ ...ROWS[3]!, ...value } as WarehouseRow]), JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))).toBeNull();
    }
  });

  it('a value Postgres refuses is refused in the binary format too (a NUL in text)', async () => {
    await expect(load('nul_text', 'binary', [{ ...ROWS[3]!, t: 'a\u0000b' }])).rejects.toThrow(/invalid byte sequence|0x00/);
  });
});
