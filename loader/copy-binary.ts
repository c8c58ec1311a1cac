import type { ColumnSpec, ColumnType } from '../contracts/warehouse-model.js';
import type { WarehouseRow, WarehouseValue } from '../contracts/warehouse-row.js';
import { parseDateDays, parseInstantMs, parseMoneyCents, parseTimeMs } from '../parquet/warehouse-values.js';

/**
 * Postgres binary COPY (`COPY … FROM STDIN (FORMAT binary)`) of warehouse rows. Postgres then
 * decodes each field with its type's receive function instead of parsing text: loading a fact
 * table's rows took 35–45% less of Postgres's time than the text format (copy-text.ts) in a test
 * on this project's machine, and Postgres's time is half of a rebuild's load.
 *
 * Only values in their canonical form (warehouse-row.ts: what the processor and the Parquet reader
 * produce) are encoded; for anything else encodeCopyBinary returns null and the caller sends the
 * rows as text, so Postgres's own parser accepts or rejects an unusual value exactly as before
 * (binary input would skip checks text input makes, e.g. that a date exists).
 *
 * Format (Postgres docs, "COPY", binary format): signature, flags, header extension length; per
 * row the field count, then per field its byte length (-1 = NULL) and its bytes, big-endian; -1 at
 * the end. Dates are days since 2000-01-01, times and instants microseconds, numerics base-10000
 * digit groups.
 */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** 1970-01-01 → 2000-01-01, Postgres's epoch. */
const PG_EPOCH_DAYS = 10_957;
const PG_EPOCH_MS = PG_EPOCH_DAYS * 86_400_000;
const TWO_32 = 2 ** 32;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const NUMERIC_NEG = 0x4000;
/** numeric(10,2): two decimal places. */
const MONEY_SCALE = 2;

/** A growing output buffer and a DataView over it (its setters are cheaper than Buffer's write methods). */
class Writer {
  buf: Buffer;
  view: DataView;
  at = 0;

  constructor(bytes: number) {
    this.buf = Buffer.allocUnsafe(bytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  ensure(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }
}

/** Dates, times, money and instants come last (`kind >= Kind.Date`: parsed, then written as a number). */
const enum Kind {
  Int,
  Bigint,
  Text,
  Boolean,
  Date,
  Time,
  Money,
  Timestamptz,
}

const KINDS: Record<ColumnType, Kind> = {
  int: Kind.Int,
  bigint: Kind.Bigint,
  text: Kind.Text,
  boolean: Kind.Boolean,
  date: Kind.Date,
  time: Kind.Time,
  money: Kind.Money,
  timestamptz: Kind.Timestamptz,
};

/** Most bytes a non-text field takes: length word and value (a numeric(10,2) has at most 3 digit groups). */
const MAX_FIXED_FIELD = 4 + 8 + 6;

function setInt64(view: DataView, at: number, value: number): void {
  const high = Math.floor(value / TWO_32);
  view.setInt32(at, high);
  view.setUint32(at + 4, value - high * TWO_32);
}

/** Writes one non-null int, bigint, text or boolean field (length word and bytes) at w.at; false when the value is not canonical. */
function writeField(w: Writer, kind: Kind, value: Exclude<WarehouseValue, null>): boolean {
  const view = w.view;
  const at = w.at;
  switch (kind) {
    case Kind.Int:
      if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) return false;
      view.setInt32(at, 4);
      view.setInt32(at + 4, value);
      w.at = at + 8;
      return true;
    case Kind.Bigint:
      if (typeof value !== 'bigint' || value < INT64_MIN || value > INT64_MAX) return false;
      view.setInt32(at, 8);
      view.setBigInt64(at + 4, value);
      w.at = at + 12;
      return true;
    case Kind.Text: {
      if (typeof value !== 'string') return false;
      const buf = w.buf;
      const length = value.length;
      let bytes = length;
      // Short ASCII text (ids, codes, names) byte by byte: cheaper than a call into the encoder.
      if (length <= 32) {
        for (let i = 0; i < length; i++) {
          const c = value.charCodeAt(i);
          if (c >= 0x80) {
            bytes = -1;
            break;
          }
          buf[at + 4 + i] = c;
        }
      } else {
        bytes = -1;
      }
      if (bytes < 0) bytes = buf.write(value, at + 4, 'utf8');
      view.setInt32(at, bytes);
      w.at = at + 4 + bytes;
      return true;
    }
    case Kind.Boolean:
      if (typeof value !== 'boolean') return false;
      view.setInt32(at, 1);
      w.buf[at + 4] = value ? 1 : 0;
      w.at = at + 5;
      return true;
    default:
      return false; // dates, times, money and instants: parseField, then writeParsed
  }
}

/** A date, time, money or instant value as the number writeParsed writes (days, ms, cents, ms); NaN when not canonical. */
function parseField(kind: Kind, value: Exclude<WarehouseValue, null>): number {
  if (typeof value !== 'string') return NaN;
  switch (kind) {
    case Kind.Date:
      return parseDateDays(value);
    case Kind.Time: {
      // parseTimeMs reads the digits only: 23:59:59.999 is the last time of day in this form that
      // text input accepts ("24:00:00.000" is left to it).
      const ms = parseTimeMs(value);
      return Number.isNaN(ms) || !validTimeOfDay(value) ? NaN : ms;
    }
    case Kind.Money:
      return parseMoneyCents(value);
    case Kind.Timestamptz:
      return parseInstantMs(value);
    default:
      return NaN;
  }
}

/** Writes a parsed date, time, money or instant field (length word and bytes) at w.at. */
function writeParsed(w: Writer, kind: Kind, parsed: number): void {
  const view = w.view;
  const at = w.at;
  switch (kind) {
    case Kind.Date:
      view.setInt32(at, 4);
      view.setInt32(at + 4, parsed - PG_EPOCH_DAYS);
      w.at = at + 8;
      return;
    case Kind.Time:
      view.setInt32(at, 8);
      setInt64(view, at + 4, parsed * 1000);
      w.at = at + 12;
      return;
    case Kind.Money:
      w.at = writeNumeric(view, at, parsed);
      return;
    case Kind.Timestamptz:
      view.setInt32(at, 8);
      setInt64(view, at + 4, (parsed - PG_EPOCH_MS) * 1000);
      w.at = at + 12;
      return;
  }
}

function validTimeOfDay(text: string): boolean {
  const hh = (text.charCodeAt(0) - 48) * 10 + text.charCodeAt(1) - 48;
  const mm = (text.charCodeAt(3) - 48) * 10 + text.charCodeAt(4) - 48;
  const ss = (text.charCodeAt(6) - 48) * 10 + text.charCodeAt(7) - 48;
  return hh < 24 && mm < 60 && ss < 60;
}

/** numeric(10,2) from cents (at most 8 whole digits: parseMoneyCents), as base-10000 digit groups. */
function writeNumeric(view: DataView, at: number, cents: number): number {
  const abs = Math.abs(cents);
  const whole = Math.floor(abs / 100);
  const fraction = (abs % 100) * 100; // .91 → the group 9100
  const groups = whole >= 10_000 ? 3 : whole > 0 ? 2 : fraction > 0 ? 1 : 0;
  view.setInt32(at, 8 + 2 * groups);
  view.setInt16(at + 4, groups);
  view.setInt16(at + 6, groups === 0 ? 0 : groups - 2); // weight of the first group: 1, 0 or -1
  view.setInt16(at + 8, cents < 0 ? NUMERIC_NEG : 0);
  view.setInt16(at + 10, MONEY_SCALE);
  let p = at + 12;
  if (groups === 3) {
    view.setInt16(p, Math.floor(whole / 10_000));
    view.setInt16(p + 2, whole % 10_000);
    p += 4;
  } else if (groups === 2) {
    view.setInt16(p, whole);
    p += 2;
  }
  if (groups > 0) {
    view.setInt16(p, fraction);
    p += 2;
  }
  return p;
}

/**
 * The binary COPY stream of `rows` (columns in `columns` order), or null when a value is not in its
 * canonical form (send the rows as text then). One buffer: a loader holds one file's rows anyway.
 */
export function encodeCopyBinary(columns: readonly ColumnSpec[], rows: readonly WarehouseRow[]): Buffer | null {
  const kinds = columns.map((c) => KINDS[c.type]);
  const names = columns.map((c) => c.name);
  const count = names.length;
  const rowRoom = 2 + count * MAX_FIXED_FIELD; // a row's fields at their largest, text aside
  const w = new Writer(SIGNATURE.length + 10 + rows.length * rowRoom);
  const lastValue: unknown[] = new Array(count).fill(undefined);
  const lastParsed = new Float64Array(count);
  w.at += SIGNATURE.copy(w.buf, w.at);
  w.view.setInt32(w.at, 0); // flags: no OIDs
  w.view.setInt32(w.at + 4, 0); // header extension length
  w.at += 8;
  for (const row of rows) {
    w.ensure(rowRoom);
    w.view.setInt16(w.at, count);
    w.at += 2;
    for (let i = 0; i < count; i++) {
      const value = row[names[i]!];
      const kind = kinds[i]!;
      if (value === null || value === undefined) {
        w.view.setInt32(w.at, -1);
        w.at += 4;
        continue;
      }
      if (kind === Kind.Text && typeof value === 'string') w.ensure(rowRoom + value.length * 3);
      if (kind >= Kind.Date) {
        // A column's value often repeats from one row to the next (a snapshot's commit time in
        // every row, dates): parsed once, then written again from the number.
        if (value !== lastValue[i]) {
          const parsed = parseField(kind, value);
          if (Number.isNaN(parsed)) return null;
          lastValue[i] = value;
          lastParsed[i] = parsed;
        }
        writeParsed(w, kind, lastParsed[i]!);
        continue;
      }
      if (!writeField(w, kind, value)) return null;
    }
  }
  w.ensure(2);
  w.view.setInt16(w.at, -1);
  return w.buf.subarray(0, w.at + 2);
}
