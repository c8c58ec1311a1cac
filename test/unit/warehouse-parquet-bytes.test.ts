import fs from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { parquetMetadata } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { WAREHOUSE_MODEL, WAREHOUSE_TABLES, type WarehouseTable } from '../../contracts/warehouse-model.js';
import { decodeWarehouseParquet, encodeWarehouseParquet } from '../../parquet/warehouse-parquet.js';
import { decodedRowsDigest, parquetCases, sha256 } from '../support/warehouse-parquet-cases.js';

/**
 * The processor's idempotence compares sha256 of Parquet files across versions, so the columnar
 * encoder must write exactly the bytes the row-object encoder (v1) wrote for the same rows, and the
 * columnar decoder must give exactly the rows v1's decoder gave. Those bytes and rows are pinned in
 * test/fixtures/warehouse-parquet-v1/ (its README says how they were made): the small files as
 * files, the large ones as sha256, the decoded rows as a digest.
 */
const FIXTURES = new URL('../fixtures/warehouse-parquet-v1/', import.meta.url);
const pins = JSON.parse(fs.readFileSync(new URL('pins.json', FIXTURES), 'utf8')) as {
  cases: Record<string, { table: WarehouseTable; bytes: number; sha256: string; decoded: string; file?: string }>;
  realistic: Record<string, { table: WarehouseTable; bytes: number; decoded: string }>;
  models: Record<WarehouseTable, string>;
};
const fixture = (file: string) => new Uint8Array(fs.readFileSync(new URL(file, FIXTURES)));

/** What the encoded files exercised (encodings, page indexes, row groups), so the cases provably reach every path. */
const seen = new Set<string>();

function noteWhatItExercised(bytes: Uint8Array): void {
  const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  if (metadata.row_groups.length > 1) seen.add('several row groups');
  for (const chunk of metadata.row_groups.flatMap((group) => group.columns)) {
    for (const encoding of chunk.meta_data!.encodings) seen.add(`${chunk.meta_data!.type} ${encoding}`);
    if (chunk.offset_index_offset !== undefined) seen.add('offset index');
    if (chunk.meta_data!.statistics?.null_count) seen.add('nulls');
  }
}

function expectSameBytes(what: string, expected: Uint8Array, current: Uint8Array): void {
  if (Buffer.compare(expected, current) !== 0) {
    const at = expected.findIndex((byte, i) => byte !== current[i]);
    expect.fail(`${what}: bytes differ from v1's at offset ${at} (lengths ${expected.length} / ${current.length})`);
  }
}

async function expectDecodedAsV1(table: WarehouseTable, bytes: Uint8Array, digest: string): Promise<void> {
  const decoded = await decodeWarehouseParquet(table, bytes);
  // The digest tells apart what isDeepStrictEqual does (-0/0, undefined/absent, value types).
  expect(decodedRowsDigest(table, decoded)).toBe(digest);
}

const cases = parquetCases();
describe('columnar warehouse Parquet codec: byte-identical to the v1 encoder', () => {
  it('every case has its pin, and every pin its case, made for the current warehouse model', () => {
    expect(cases.map((c) => c.name).sort()).toEqual(Object.keys(pins.cases).sort());
    const model = (table: WarehouseTable) => WAREHOUSE_MODEL[table].columns.map((c) => `${c.name}:${c.type}:${c.nullable ? 'null' : 'notnull'}`).join(',');
    // A model change changes the bytes on purpose: regenerate the pins (the fixtures' README says how).
    expect(WAREHOUSE_TABLES.filter((table) => pins.models[table] !== model(table)), 'tables whose model changed since the pins were made').toEqual([]);
  });

  for (const table of WAREHOUSE_TABLES) {
    it(`${table}: edge values, nulls, unicode, dictionary and plain pages`, async () => {
      for (const { name, rows } of cases.filter((c) => c.table === table && c.name.startsWith(`${table}-`))) await expectCase(name, rows());
    });
  }

  it('the dictionary sample and size checks decide exactly as before', async () => {
    for (const { name, rows } of cases.filter((c) => c.name.startsWith('dictionary-'))) await expectCase(name, rows());
  });

  it('several row groups and multi-page text chunks (offset index) come out identical', async () => {
    await expectCase('row-groups-and-pages', cases.find((c) => c.name === 'row-groups-and-pages')!.rows());
    expect(seen).toContain('several row groups');
    expect(seen).toContain('offset index');
  }, 60_000);

  it('realistic processor batches (v1 files of generateWorkload through the transforms) decode as before and re-encode to the same bytes', async () => {
    const files = Object.entries(pins.realistic);
    expect(new Set(files.map(([, pin]) => pin.table)).size).toBe(WAREHOUSE_TABLES.length);
    for (const [file, pin] of files) {
      const v1 = fixture(file);
      expect(v1.length).toBe(pin.bytes);
      await expectDecodedAsV1(pin.table, v1, pin.decoded);
      expectSameBytes(file, v1, encodeWarehouseParquet(pin.table, await decodeWarehouseParquet(pin.table, v1)));
    }
  }, 60_000);

  it('uses every column type of the model (so the cases above cover each)', () => {
    const types = new Set(WAREHOUSE_TABLES.flatMap((table) => WAREHOUSE_MODEL[table].columns.map((column) => `${column.type}/${column.nullable}`)));
    expect([...types].sort()).toEqual(
      ['bigint/false', 'boolean/false', 'date/false', 'int/false', 'int/true', 'money/false', 'text/false', 'text/true', 'time/false', 'timestamptz/false'].sort(),
    );
  });

  it('the cases above reach every page encoding the encoder can choose', () => {
    for (const path of ['INT32 PLAIN', 'INT32 RLE_DICTIONARY', 'INT64 PLAIN', 'INT64 RLE_DICTIONARY', 'BYTE_ARRAY PLAIN', 'BYTE_ARRAY RLE_DICTIONARY', 'BOOLEAN PLAIN', 'BOOLEAN RLE', 'nulls']) {
      expect(seen).toContain(path);
    }
  });
});

async function expectCase(name: string, rows: ReturnType<(typeof cases)[number]['rows']>): Promise<void> {
  const pin = pins.cases[name];
  const current = encodeWarehouseParquet(pin.table, rows);
  if (pin.file) expectSameBytes(name, fixture(pin.file), current);
  else expect(`${name}: sha256 ${sha256(current)}, ${current.length} bytes`).toBe(`${name}: sha256 ${pin.sha256}, ${pin.bytes} bytes`);
  noteWhatItExercised(current);
  await expectDecodedAsV1(pin.table, current, pin.decoded);
  // A file that decodes the same twice decodes deterministically (no state kept between calls).
  expect(isDeepStrictEqual(await decodeWarehouseParquet(pin.table, current), await decodeWarehouseParquet(pin.table, current))).toBe(true);
}
