import { parquetMetadata, parquetRead, snappyUncompress, type AsyncBuffer, type Compressors, type SchemaElement } from 'hyparquet';
import { checkParquetFrame, checkParquetMetadata, DEFAULT_PARQUET_READ_LIMITS, ParquetBoundsError, type ParquetReadLimits } from './parquet-bounds.js';
import { BadInputError } from '../platform/errors.js';
import { writeFlatParquet, type FlatColumn } from './parquet-flat-writer.js';
import type { ColumnSpec, ColumnType, WarehouseTable } from '../contracts/warehouse-model.js';
import { WAREHOUSE_MODEL } from '../contracts/warehouse-model.js';
import type { WarehouseRow, WarehouseValue } from '../contracts/warehouse-row.js';
import { formatDateDays, formatInstantMs, formatMoney, formatTimeMs, parseDateDays, parseInstantMs, parseMoneyCents, parseTimeMs } from './warehouse-values.js';

/**
 * Parquet encoding of warehouse rows: the file format between processor and loader, and the one
 * analysts read from the processed bucket. Logical types are real Parquet types (DATE, TIME(ms),
 * DECIMAL(10,2), TIMESTAMP(ms, UTC)), so DuckDB, Spark or Athena read them without casts.
 *
 * Both directions work column by column on typed arrays (parquet-flat-writer.ts, warehouse-values.ts):
 * the bytes are identical to what the earlier row-object encoder (hyparquet-writer's parquetWrite)
 * produced for the same rows, because the processor's idempotence compares sha256 across versions.
 */

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

/** Per table, built once: the file schema (root + one leaf per column) and each column's element. */
const SCHEMAS = new Map<WarehouseTable, { schema: SchemaElement[]; elements: SchemaElement[] }>();
function schemaOf(table: WarehouseTable) {
  let entry = SCHEMAS.get(table);
  if (!entry) {
    const columns = WAREHOUSE_MODEL[table].columns;
    const elements = columns.map(schemaElement);
    entry = { schema: [{ name: 'root', num_children: columns.length }, ...elements], elements };
    SCHEMAS.set(table, entry);
  }
  return entry;
}

/** A row value the warehouse model does not allow: bad input, so the event is quarantined. */
export class WarehouseValueError extends BadInputError {
  constructor(
    readonly table: WarehouseTable,
    readonly column: string,
    value: unknown,
    reason: string,
  ) {
    super(`${table}.${column}: ${reason} (got ${typeof value === 'bigint' ? value.toString() : JSON.stringify(value)})`, { context: { table, column } });
  }
}

const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_TEXT = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/;
const MONEY_TEXT = /^(-?)(\d{1,8})(?:\.(\d{1,2}))?$/;

/**
 * The original per-value conversion, kept as the authority for every value the fast paths below do
 * not take (other spellings, bad values): its result and its error messages are the contract.
 */
function toParquet(table: WarehouseTable, column: ColumnSpec, value: WarehouseValue): unknown {
  if (value === null || value === undefined) {
    if (!column.nullable) throw new WarehouseValueError(table, column.name, value, 'required value is missing');
    return null;
  }
  switch (column.type) {
    case 'int':
      if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= 2 ** 31 - 1) return value;
      throw new WarehouseValueError(table, column.name, value, 'expected a 32-bit integer');
    case 'bigint':
      if (typeof value === 'bigint') return value;
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
      throw new WarehouseValueError(table, column.name, value, 'expected a bigint');
    case 'text':
      if (typeof value === 'string') return value;
      throw new WarehouseValueError(table, column.name, value, 'expected text');
    case 'boolean':
      if (typeof value === 'boolean') return value;
      throw new WarehouseValueError(table, column.name, value, 'expected a boolean');
    case 'date': {
      const m = typeof value === 'string' ? DATE_TEXT.exec(value) : null;
      if (!m) throw new WarehouseValueError(table, column.name, value, 'expected a YYYY-MM-DD date');
      const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      if (new Date(ms).toISOString().slice(0, 10) !== value) throw new WarehouseValueError(table, column.name, value, 'not a calendar date');
      return ms / DAY_MS;
    }
    case 'time': {
      const m = typeof value === 'string' ? TIME_TEXT.exec(value) : null;
      if (!m) throw new WarehouseValueError(table, column.name, value, 'expected a HH:MM:SS.mmm time');
      return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number((m[4] ?? '0').padEnd(3, '0'));
    }
    case 'money': {
      const m = typeof value === 'string' ? MONEY_TEXT.exec(value) : null;
      if (!m) throw new WarehouseValueError(table, column.name, value, 'expected an exact decimal with at most 8 integer and 2 fraction digits');
      const cents = BigInt(m[2]) * 100n + BigInt((m[3] ?? '0').padEnd(2, '0'));
      return m[1] === '-' ? -cents : cents;
    }
    case 'timestamptz': {
      const ms = typeof value === 'string' ? Date.parse(value) : NaN;
      if (Number.isNaN(ms)) throw new WarehouseValueError(table, column.name, value, 'expected an ISO-8601 instant');
      return BigInt(ms);
    }
  }
}

const FAST_PARSERS = { date: parseDateDays, time: parseTimeMs, money: parseMoneyCents, timestamptz: parseInstantMs } as const;

/** The table's column names, checked to be plain identifiers before they go into generated code. */
function plainNames(table: WarehouseTable): string[] {
  const names = WAREHOUSE_MODEL[table].columns.map((column) => column.name);
  for (const name of names) if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`column name ${JSON.stringify(name)} is not a plain identifier`);
  return names;
}

/** Per table, a function compiled once from the lines `body` writes for the table's checked column names. */
function perTableFunction<F>(params: readonly string[], body: (names: readonly string[]) => string[]): (table: WarehouseTable) => F {
  const compiled = new Map<WarehouseTable, F>();
  return (table) => {
    let fn = compiled.get(table);
    if (!fn) {
      fn = new Function(...params, body(plainNames(table)).join('\n')) as F;
      compiled.set(table, fn);
    }
    return fn;
  };
}

/**
 * Per table, a generated function that copies every column of the rows into one array per column.
 * Each column gets its own named property load (row.payment_id), which stays monomorphic for rows of
 * one shape; a shared `row[name]` load across 100+ column names would be megamorphic, a hash lookup
 * per value. Names come from the static model and are checked to be plain identifiers.
 */
type ColumnExtractor = (rows: readonly WarehouseRow[], out: WarehouseValue[][]) => void;
const extractorOf = perTableFunction<ColumnExtractor>(['rows', 'out'], (names) => [
  ...names.map((_, c) => `const c${c} = out[${c}];`),
  'for (let i = 0; i < rows.length; i++) {',
  '  const row = rows[i];',
  ...names.map((name, c) => `  c${c}[i] = row.${name};`),
  '}',
]);

/**
 * Text columns with a fast parser (date, time, money, timestamptz): the fast parser's number, else
 * the row-object conversion decides (null, a number or bigint, or the error for a bad value). Cents
 * and Date.parse results are safe integers, so a Float64Array holds the int64 values exactly.
 */
function fillParsed<T extends Int32Array | Float64Array>(table: WarehouseTable, column: ColumnSpec, raw: readonly WarehouseValue[], values: T, nulls: Uint8Array | null): T {
  const parse = FAST_PARSERS[column.type as keyof typeof FAST_PARSERS];
  for (let i = 0; i < raw.length; i++) {
    const value = raw[i] ?? null;
    const fast = typeof value === 'string' ? parse(value) : NaN;
    if (!Number.isNaN(fast)) values[i] = fast;
    else {
      const slow = toParquet(table, column, value);
      if (slow === null) nulls![i] = 1;
      else values[i] = Number(slow as number | bigint);
    }
  }
  return values;
}

/**
 * One column of all rows in physical form. Columns are converted in model order and rows in input
 * order, so the first bad value reported is the one the row-object encoder reported. `raw` holds
 * the column's values as read from the rows (undefined for an absent key, read as null).
 */
function physicalColumn(table: WarehouseTable, column: ColumnSpec, element: SchemaElement, raw: readonly WarehouseValue[]): FlatColumn {
  const count = raw.length;
  const nulls = column.nullable ? new Uint8Array(count) : null;
  switch (column.type) {
    case 'int': {
      const values = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const value = raw[i] ?? null;
        if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= 2 ** 31 - 1) values[i] = value;
        else if (toParquet(table, column, value) === null) nulls![i] = 1;
      }
      return { kind: 'int32', element, values, nulls };
    }
    case 'date':
    case 'time':
      return { kind: 'int32', element, values: fillParsed(table, column, raw, new Int32Array(count), nulls), nulls };
    case 'money':
    case 'timestamptz':
      return { kind: 'int64', element, values: fillParsed(table, column, raw, new Float64Array(count), nulls), nulls };
    case 'bigint': {
      const values = new Array<bigint | null>(count);
      for (let i = 0; i < count; i++) {
        const value = raw[i] ?? null;
        values[i] = typeof value === 'bigint' ? value : (toParquet(table, column, value) as bigint | null);
      }
      return { kind: 'bigint', element, values };
    }
    case 'text': {
      const values = new Array<string | null>(count);
      for (let i = 0; i < count; i++) {
        const value = raw[i] ?? null;
        values[i] = typeof value === 'string' ? value : (toParquet(table, column, value) as null);
      }
      return { kind: 'text', element, values };
    }
    case 'boolean': {
      const values = new Uint8Array(count);
      for (let i = 0; i < count; i++) {
        const value = raw[i] ?? null;
        if (typeof value === 'boolean') values[i] = value ? 1 : 0;
        else if (toParquet(table, column, value) === null) nulls![i] = 1;
      }
      return { kind: 'boolean', element, values, nulls };
    }
  }
}

/** Encodes rows of one warehouse table as a Parquet file (snappy, one row group per 100k rows). */
export function encodeWarehouseParquet(table: WarehouseTable, rows: readonly WarehouseRow[]): Uint8Array {
  const { schema, elements } = schemaOf(table);
  const columns = WAREHOUSE_MODEL[table].columns;
  const raw = columns.map(() => new Array<WarehouseValue>(rows.length));
  extractorOf(table)(rows, raw);
  // Every value is validated before anything is written, as before.
  const flat = columns.map((column, c) => physicalColumn(table, column, elements[c], raw[c]));
  return writeFlatParquet(schema, flat, rows.length, [{ key: 'totesys_cdc.table', value: table }]);
}

/** hyparquet hands DATE and TIMESTAMP over as their stored integers; the text is formatted below. */
const RAW_PARSERS = {
  dateFromDays: (days: number) => days,
  timestampFromMilliseconds: (ms: bigint) => ms,
};

/** Days → text for the dates of a file, which repeat a lot (bounded: cleared when full). */
const DATE_TEXT_CACHE = new Map<number, string>();
function cachedDateText(days: number): string {
  let text = DATE_TEXT_CACHE.get(days);
  if (text === undefined) {
    text = formatDateDays(days);
    if (DATE_TEXT_CACHE.size >= 10_000) DATE_TEXT_CACHE.clear();
    DATE_TEXT_CACHE.set(days, text);
  }
  return text;
}

/** Per column type, a decoded value (never null) → its warehouse value; text and boolean stay as decoded. */
const FROM_DECODED: Record<ColumnType, ((value: never) => WarehouseValue) | null> = {
  int: (value: number | bigint) => Number(value),
  bigint: (value: number | bigint) => (typeof value === 'bigint' ? value : BigInt(value)),
  money: (value: number) => formatMoney(value),
  time: (value: number | bigint) => formatTimeMs(Number(value)),
  date: (value: number) => cachedDateText(value),
  timestamptz: (value: bigint) => formatInstantMs(Number(value)),
  text: null,
  boolean: null,
};

/** A decoded column (hyparquet's array, nulls as null or undefined) → warehouse values, in place when it can. */
function warehouseValues(type: ColumnType, data: ArrayLike<unknown>): WarehouseValue[] {
  const count = data.length;
  const out = Array.isArray(data) ? (data as WarehouseValue[]) : new Array<WarehouseValue>(count);
  const convert = FROM_DECODED[type] as ((value: unknown) => WarehouseValue) | null;
  if (convert === null) {
    for (let i = 0; i < count; i++) out[i] = (data[i] ?? null) as WarehouseValue;
  } else if (type === 'int') {
    // The commonest type (keys, ids, versions) and the cheapest conversion: inline, not through the call.
    for (let i = 0; i < count; i++) out[i] = data[i] === null || data[i] === undefined ? null : Number(data[i]);
  } else {
    for (let i = 0; i < count; i++) {
      const value = data[i];
      out[i] = value === null || value === undefined ? null : convert(value);
    }
  }
  return out;
}

/** Per table, a generated function building the row objects from column arrays as one object literal (one shape, no keyed stores). */
type RowBuilder = (values: readonly WarehouseValue[][], count: number) => WarehouseRow[];
const rowBuilderOf = perTableFunction<RowBuilder>(['values', 'count'], (names) => [
  ...names.map((_, c) => `const c${c} = values[${c}];`),
  'const rows = new Array(count);',
  `for (let r = 0; r < count; r++) rows[r] = { ${names.map((name, c) => `${name}: c${c}[r]`).join(', ')} };`,
  'return rows;',
]);

function asyncBuffer(buffer: ArrayBuffer): AsyncBuffer {
  return { byteLength: buffer.byteLength, slice: (start: number, end?: number) => buffer.slice(start, end) };
}

/** Snappy with the page-size bound applied again where the page is allocated (belt and braces). */
function boundedCompressors(limits: ParquetReadLimits): Compressors {
  return {
    SNAPPY: (input: Uint8Array, outputLength: number) => {
      if (!(outputLength >= 0 && outputLength <= limits.maxPageBytes)) throw new ParquetBoundsError(`page claims ${outputLength} bytes decompressed, more than the ${limits.maxPageBytes} allowed`);
      const output = new Uint8Array(outputLength);
      snappyUncompress(input, output);
      return output;
    },
  };
}

/**
 * Decodes a warehouse Parquet file back into rows (the loader's reader). The file is untrusted:
 * its frame, footer and page headers are checked against `limits` first (parquet-bounds.ts), so a
 * hostile file fails with a ParquetBoundsError instead of exhausting memory.
 */
export async function decodeWarehouseParquet(table: WarehouseTable, bytes: Uint8Array, limits: ParquetReadLimits = DEFAULT_PARQUET_READ_LIMITS): Promise<WarehouseRow[]> {
  const columns = WAREHOUSE_MODEL[table].columns;
  checkParquetFrame(bytes, limits);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const metadata = parquetMetadata(buffer, { parsers: RAW_PARSERS });
  checkParquetMetadata(bytes, metadata, limits);
  const rowCount = Number(metadata.num_rows);
  const inFile = new Set(metadata.schema.slice(1).map((element) => element.name));
  const wanted = columns.filter((column) => inFile.has(column.name)).map((column) => column.name);

  // Chunks arrive per column and row range; a one-chunk column (one row group, one page) is used as is.
  const chunks = new Map<string, { data: ArrayLike<unknown>; rowStart: number }[]>();
  await parquetRead({
    file: asyncBuffer(buffer),
    metadata,
    columns: wanted,
    parsers: RAW_PARSERS,
    compressors: boundedCompressors(limits),
    onChunk: ({ columnName, columnData, rowStart }) => {
      let list = chunks.get(columnName);
      if (!list) chunks.set(columnName, (list = []));
      list.push({ data: columnData, rowStart });
    },
  });
  if (rowCount === 0) return [];
  for (const column of columns) {
    if (!inFile.has(column.name)) throw new WarehouseValueError(table, column.name, undefined, 'column missing from the Parquet file');
  }

  const values = columns.map((column) => {
    const list = chunks.get(column.name) ?? [];
    let data: ArrayLike<unknown>;
    if (list.length === 1 && list[0].rowStart === 0 && list[0].data.length === rowCount) data = list[0].data;
    else {
      const joined = new Array<unknown>(rowCount);
      for (const { data: part, rowStart } of list) for (let i = 0; i < part.length && rowStart + i < rowCount; i++) joined[rowStart + i] = part[i];
      data = joined;
    }
    return warehouseValues(column.type, data);
  });

  return rowBuilderOf(table)(values, rowCount);
}
