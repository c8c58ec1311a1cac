/**
 * FROZEN copy of parquet/warehouse-parquet.ts as of commit 81645d8 (before the columnar codec), kept as
 * the reference the current codec must match byte for byte: the processor's idempotence relies on
 * identical Parquet bytes across versions (re-processing after an upgrade gives the same sha256).
 * Do not edit or "improve" this file; only the imports and export names differ from the original.
 */
import { parquetReadObjects, type AsyncBuffer } from 'hyparquet';
import { ByteWriter, parquetWrite } from 'hyparquet-writer';
import type { ColumnSpec, ColumnType, WarehouseTable } from '../../contracts/warehouse-model.js';
import { WAREHOUSE_MODEL } from '../../contracts/warehouse-model.js';
import type { WarehouseRow, WarehouseValue } from '../../contracts/warehouse-row.js';

/**
 * Parquet encoding of warehouse rows: the file format between processor and loader, and the one
 * analysts read from the processed bucket. Logical types are real Parquet types (DATE, TIME(ms),
 * DECIMAL(10,2), TIMESTAMP(ms, UTC)), so DuckDB, Spark or Athena read them without casts.
 */
type SchemaElement = Parameters<typeof parquetWrite>[0]['schema'] extends (infer E)[] | undefined ? E : never;

const DAY_MS = 86_400_000;

function schemaElement(column: ColumnSpec): SchemaElement {
  const repetition_type = column.nullable ? 'OPTIONAL' : 'REQUIRED';
  const base = { name: column.name, repetition_type } as const;
  switch (column.type) {
    case 'int':
      return { ...base, type: 'INT32' };
    case 'bigint':
      return { ...base, type: 'INT64' };
    case 'text':
      return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } };
    case 'boolean':
      return { ...base, type: 'BOOLEAN' };
    case 'date':
      return { ...base, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } };
    case 'time':
      return { ...base, type: 'INT32', converted_type: 'TIME_MILLIS', logical_type: { type: 'TIME', isAdjustedToUTC: false, unit: 'MILLIS' } };
    case 'money':
      return { ...base, type: 'INT64', converted_type: 'DECIMAL', precision: 10, scale: 2, logical_type: { type: 'DECIMAL', precision: 10, scale: 2 } };
    case 'timestamptz':
      return { ...base, type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' } };
  }
}

export class LegacyWarehouseValueError extends Error {
  readonly retryable = false;
  constructor(
    readonly table: WarehouseTable,
    readonly column: string,
    value: unknown,
    reason: string,
  ) {
    super(`${table}.${column}: ${reason} (got ${typeof value === 'bigint' ? value.toString() : JSON.stringify(value)})`);
    this.name = 'WarehouseValueError';
  }
}

const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_TEXT = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/;
const MONEY_TEXT = /^(-?)(\d{1,8})(?:\.(\d{1,2}))?$/;

/** Converts one value to what hyparquet-writer stores for the column's physical type (hot path: no closures). */
function toParquet(table: WarehouseTable, column: ColumnSpec, value: WarehouseValue): unknown {
  if (value === null || value === undefined) {
    if (!column.nullable) throw new LegacyWarehouseValueError(table, column.name, value, 'required value is missing');
    return null;
  }
  switch (column.type) {
    case 'int':
      if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= 2 ** 31 - 1) return value;
      throw new LegacyWarehouseValueError(table, column.name, value, 'expected a 32-bit integer');
    case 'bigint':
      if (typeof value === 'bigint') return value;
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
      throw new LegacyWarehouseValueError(table, column.name, value, 'expected a bigint');
    case 'text':
      if (typeof value === 'string') return value;
      throw new LegacyWarehouseValueError(table, column.name, value, 'expected text');
    case 'boolean':
      if (typeof value === 'boolean') return value;
      throw new LegacyWarehouseValueError(table, column.name, value, 'expected a boolean');
    case 'date': {
      const m = typeof value === 'string' ? DATE_TEXT.exec(value) : null;
      if (!m) throw new LegacyWarehouseValueError(table, column.name, value, 'expected a YYYY-MM-DD date');
      const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      if (new Date(ms).toISOString().slice(0, 10) !== value) throw new LegacyWarehouseValueError(table, column.name, value, 'not a calendar date');
      return ms / DAY_MS;
    }
    case 'time': {
      const m = typeof value === 'string' ? TIME_TEXT.exec(value) : null;
      if (!m) throw new LegacyWarehouseValueError(table, column.name, value, 'expected a HH:MM:SS.mmm time');
      return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number((m[4] ?? '0').padEnd(3, '0'));
    }
    case 'money': {
      const m = typeof value === 'string' ? MONEY_TEXT.exec(value) : null;
      if (!m) throw new LegacyWarehouseValueError(table, column.name, value, 'expected an exact decimal with at most 8 integer and 2 fraction digits');
      const cents = BigInt(m[2]) * 100n + BigInt((m[3] ?? '0').padEnd(2, '0'));
      return m[1] === '-' ? -cents : cents;
    }
    case 'timestamptz': {
      const ms = typeof value === 'string' ? Date.parse(value) : NaN;
      if (Number.isNaN(ms)) throw new LegacyWarehouseValueError(table, column.name, value, 'expected an ISO-8601 instant');
      return BigInt(ms);
    }
  }
}

/** Encodes rows of one warehouse table as a Parquet file (snappy, one row group per 100k rows). */
export function legacyEncodeWarehouseParquet(table: WarehouseTable, rows: readonly WarehouseRow[]): Uint8Array {
  const spec = WAREHOUSE_MODEL[table];
  const schema: SchemaElement[] = [{ name: 'root', num_children: spec.columns.length }, ...spec.columns.map(schemaElement)];
  const columnData = spec.columns.map((column) => {
    const data = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) data[i] = toParquet(table, column, rows[i][column.name] ?? null);
    return { name: column.name, data, nullable: column.nullable };
  });
  const writer = new ByteWriter();
  // Synchronous with the default (synchronous) compressors; its type also allows a Promise.
  void parquetWrite({ writer, columnData, schema, rowGroupSize: 100_000, kvMetadata: [{ key: 'totesys_cdc.table', value: table }] });
  return new Uint8Array(writer.getBuffer());
}

function fromParquet(type: ColumnType, value: unknown): WarehouseValue {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'int':
      return Number(value);
    case 'bigint':
      return BigInt(value as bigint);
    case 'money':
      // hyparquet scales DECIMAL through a double; |value| < 1e8 with 2 decimals is exact after rounding.
      return (value as number).toFixed(2);
    case 'time': {
      const ms = Number(value);
      const hh = Math.floor(ms / 3_600_000);
      const mm = Math.floor(ms / 60_000) % 60;
      const ss = Math.floor(ms / 1000) % 60;
      return `${pad(hh)}:${pad(mm)}:${pad(ss)}.${String(ms % 1000).padStart(3, '0')}`;
    }
    default:
      return value as WarehouseValue; // text, boolean; date and timestamptz via parsers below
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

const PARSERS = {
  dateFromDays: (days: number) => new Date(days * DAY_MS).toISOString().slice(0, 10),
  timestampFromMilliseconds: (ms: bigint) => new Date(Number(ms)).toISOString(),
};

function asyncBuffer(bytes: Uint8Array): AsyncBuffer {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return { byteLength: buffer.byteLength, slice: (start: number, end?: number) => buffer.slice(start, end) };
}

/** Decodes a warehouse Parquet file back into rows (the loader's reader). */
export async function legacyDecodeWarehouseParquet(table: WarehouseTable, bytes: Uint8Array): Promise<WarehouseRow[]> {
  const spec = WAREHOUSE_MODEL[table];
  const objects = (await parquetReadObjects({ file: asyncBuffer(bytes), parsers: PARSERS })) as Record<string, unknown>[];
  return objects.map((object) => {
    const row: WarehouseRow = {};
    for (const column of spec.columns) {
      if (!(column.name in object)) throw new LegacyWarehouseValueError(table, column.name, undefined, 'column missing from the Parquet file');
      row[column.name] = fromParquet(column.type, object[column.name]);
    }
    return row;
  });
}
