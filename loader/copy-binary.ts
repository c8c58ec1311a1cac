import type { ColumnSpec, ColumnType } from '../core/warehouse-model.js';
import type { WarehouseRow, WarehouseValue } from '../core/warehouse-row.js';
import { parseDateDays, parseInstantMs, parseMoneyCents, parseTimeMs } from '../core/warehouse-values.js';

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

class Writer {
  buf = Buffer.allocUnsafe(64 * 1024);
  at = 0;

  ensure(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }

  int16(value: number): void {
    this.at = this.buf.writeInt16BE(value, this.at);
  }

  int32(value: number): void {
    this.at = this.buf.writeInt32BE(value, this.at);
  }

  /** A safe integer as int64, without BigInt. */
  int64(value: number): void {
    const high = Math.floor(value / TWO_32);
    this.at = this.buf.writeInt32BE(high, this.at);
    this.at = this.buf.writeUInt32BE(value - high * TWO_32, this.at);
  }
}

/** Writes one non-null field (length and bytes); false when the value is not in canonical form. */
type FieldEncoder = (w: Writer, value: Exclude<WarehouseValue, null>) => boolean;

const ENCODERS: Record<ColumnType, FieldEncoder> = {
  int(w, value) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) return false;
    w.ensure(8);
    w.int32(4);
    w.int32(value);
    return true;
  },
  bigint(w, value) {
    if (typeof value !== 'bigint' || value < INT64_MIN || value > INT64_MAX) return false;
    w.ensure(12);
    w.int32(8);
    w.at = w.buf.writeBigInt64BE(value, w.at);
    return true;
  },
  text(w, value) {
    if (typeof value !== 'string') return false;
    w.ensure(4 + value.length * 3);
    const bytes = w.buf.write(value, w.at + 4, 'utf8');
    w.int32(bytes);
    w.at += bytes;
    return true;
  },
  boolean(w, value) {
    if (typeof value !== 'boolean') return false;
    w.ensure(5);
    w.int32(1);
    w.buf[w.at++] = value ? 1 : 0;
    return true;
  },
  date(w, value) {
    const days = typeof value === 'string' ? parseDateDays(value) : NaN;
    if (Number.isNaN(days)) return false;
    w.ensure(8);
    w.int32(4);
    w.int32(days - PG_EPOCH_DAYS);
    return true;
  },
  time(w, value) {
    const ms = typeof value === 'string' ? parseTimeMs(value) : NaN;
    // parseTimeMs reads the digits only: 23:59:59.999 is the last time of day text input accepts
    // in this form (and "24:00:00" is not in it).
    if (Number.isNaN(ms) || !validTimeOfDay(value as string)) return false;
    w.ensure(12);
    w.int32(8);
    w.int64(ms * 1000);
    return true;
  },
  money(w, value) {
    const cents = typeof value === 'string' ? parseMoneyCents(value) : NaN;
    if (Number.isNaN(cents)) return false;
    writeNumeric(w, cents);
    return true;
  },
  timestamptz(w, value) {
    const ms = typeof value === 'string' ? parseInstantMs(value) : NaN;
    if (Number.isNaN(ms)) return false;
    w.ensure(12);
    w.int32(8);
    w.int64((ms - PG_EPOCH_MS) * 1000);
    return true;
  },
};

function validTimeOfDay(text: string): boolean {
  const hh = (text.charCodeAt(0) - 48) * 10 + text.charCodeAt(1) - 48;
  const mm = (text.charCodeAt(3) - 48) * 10 + text.charCodeAt(4) - 48;
  const ss = (text.charCodeAt(6) - 48) * 10 + text.charCodeAt(7) - 48;
  return hh < 24 && mm < 60 && ss < 60;
}

/** numeric(10,2) from cents: at most 8 whole digits (parseMoneyCents), so at most 3 digit groups. */
function writeNumeric(w: Writer, cents: number): void {
  const abs = Math.abs(cents);
  const whole = Math.floor(abs / 100);
  const fraction = (abs % 100) * 100; // .91 → the group 9100
  const groups = whole >= 10_000 ? [Math.floor(whole / 10_000), whole % 10_000, fraction] : whole > 0 ? [whole, fraction] : fraction > 0 ? [fraction] : [];
  const weight = whole >= 10_000 ? 1 : whole > 0 ? 0 : -1;
  w.ensure(4 + 8 + 2 * groups.length);
  w.int32(8 + 2 * groups.length);
  w.int16(groups.length);
  w.int16(groups.length === 0 ? 0 : weight);
  w.int16(cents < 0 ? NUMERIC_NEG : 0);
  w.int16(MONEY_SCALE);
  for (const group of groups) w.int16(group);
}

/**
 * The binary COPY stream of `rows` (columns in `columns` order), or null when a value is not in its
 * canonical form (send the rows as text then). One buffer: a loader holds one file's rows anyway.
 */
export function encodeCopyBinary(columns: readonly ColumnSpec[], rows: readonly WarehouseRow[]): Buffer | null {
  const w = new Writer();
  const encoders = columns.map((c) => ENCODERS[c.type]);
  const names = columns.map((c) => c.name);
  w.ensure(SIGNATURE.length + 8);
  w.at += SIGNATURE.copy(w.buf, w.at);
  w.int32(0); // flags: no OIDs
  w.int32(0); // header extension length
  for (const row of rows) {
    w.ensure(2 + 4 * names.length);
    w.int16(names.length);
    for (let i = 0; i < names.length; i++) {
      const value = row[names[i]!];
      if (value === null || value === undefined) {
        w.ensure(4);
        w.int32(-1);
      } else if (!encoders[i]!(w, value)) {
        return null;
      }
    }
  }
  w.ensure(2);
  w.int16(-1);
  return w.buf.subarray(0, w.at);
}
