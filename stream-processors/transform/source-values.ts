import type { ChangeEvent, Row, RowValue } from '../../core/change-event.js';

/**
 * Readers for source-row values (change-event contract, DESIGN.md §3) that turn them into warehouse
 * values (core/warehouse-row.ts conventions). Every reader is strict: a value that does not have its
 * Postgres meaning (units_sold "12", a TEXT date "2022-02-30", money as a float) throws
 * SourceValueError, a permanent error that sends the event to quarantine instead of the warehouse.
 */
export class SourceValueError extends Error {
  readonly retryable = false;
  constructor(
    message: string,
    readonly table: string,
    readonly column: string,
    readonly eventId?: string,
  ) {
    super(message);
    this.name = 'SourceValueError';
  }
}

/** A source row with the context needed to name the failing column. */
export interface SourceRow {
  table: string;
  eventId?: string;
  row: Row;
}

export function sourceRowOf(event: ChangeEvent, row: Row): SourceRow {
  return { table: event.table, eventId: event.id, row };
}

function fail(src: SourceRow, column: string, value: unknown, expected: string): never {
  throw new SourceValueError(`${src.table}.${column}: expected ${expected}, got ${JSON.stringify(value)}`, src.table, column, src.eventId);
}

function present(src: SourceRow, column: string): RowValue {
  const value = src.row[column];
  if (value === undefined) fail(src, column, value, 'a value (column missing from the row image)');
  return value;
}

export function requiredInt(src: SourceRow, column: string): number {
  const value = present(src, column);
  if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > 2 ** 31 - 1) fail(src, column, value, 'a 32-bit integer');
  return value;
}

export function optionalInt(src: SourceRow, column: string): number | null {
  return src.row[column] === null || src.row[column] === undefined ? null : requiredInt(src, column);
}

export function requiredText(src: SourceRow, column: string): string {
  const value = present(src, column);
  if (typeof value !== 'string') fail(src, column, value, 'text');
  return value;
}

export function optionalText(src: SourceRow, column: string): string | null {
  return src.row[column] === null || src.row[column] === undefined ? null : requiredText(src, column);
}

export function requiredBoolean(src: SourceRow, column: string): boolean {
  const value = present(src, column);
  if (typeof value !== 'boolean') fail(src, column, value, 'a boolean');
  return value;
}

const MONEY = /^(-?)(\d{1,8})(?:\.(\d{1,2}))?$/;

/**
 * numeric(10,2) as an exact decimal string with exactly two fraction digits ('3.9' → '3.90',
 * '3.94' stays '3.94'). Floats are refused: they may already have lost the exact value.
 */
export function requiredMoney(src: SourceRow, column: string): string {
  const value = present(src, column);
  const m = typeof value === 'string' ? MONEY.exec(value) : null;
  if (!m) fail(src, column, value, 'a numeric(10,2) decimal string');
  const integer = m[2].replace(/^0+(?=\d)/, '');
  const fraction = (m[3] ?? '').padEnd(2, '0');
  const negative = m[1] === '-' && /[1-9]/.test(integer + fraction);
  return `${negative ? '-' : ''}${integer}.${fraction}`;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A real proleptic-Gregorian date 'YYYY-MM-DD' (year 0001-9999); arithmetic only, it runs per value. */
export function isCalendarDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= DAYS_IN_MONTH[month - 1] + (leap ? 1 : 0);
}

/** A TEXT 'YYYY-MM-DD' column (agreed_*_date, payment_date) validated as a real calendar date. */
export function requiredDate(src: SourceRow, column: string): string {
  const value = present(src, column);
  if (typeof value !== 'string' || !isCalendarDate(value)) fail(src, column, value, 'a YYYY-MM-DD calendar date');
  return value;
}

// ISO text without zone; a space separator (Postgres' own text form) and 0-6 fraction digits are
// accepted so a capture that forwards pgoutput text unchanged still works.
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/**
 * Splits a `timestamp(3)` into date and time of day exactly as written: no time-zone conversion,
 * the source's wall-clock value is the business value.
 */
export function requiredTimestampParts(src: SourceRow, column: string): { date: string; time: string } {
  const value = present(src, column);
  const m = typeof value === 'string' ? TIMESTAMP.exec(value) : null;
  if (!m || !isCalendarDate(m[1]) || Number(m[2]) > 23 || Number(m[3]) > 59 || Number(m[4]) > 59) {
    fail(src, column, value, 'a timestamp YYYY-MM-DDTHH:MM:SS.mmm');
  }
  const millis = (m[5] ?? '').slice(0, 3).padEnd(3, '0');
  return { date: m[1], time: `${m[2]}:${m[3]}:${m[4]}.${millis}` };
}
