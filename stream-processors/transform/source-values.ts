import type { ChangeEvent, Row, RowValue } from '../../contracts/change-event.js';
import { BadInputError } from '../../platform/errors.js';

/**
 * Readers for source-row values (the change-event contract, docs/architecture.md#the-change-event) that turn them into warehouse
 * values (contracts/warehouse-row.ts conventions). Every reader is strict: a value that does not have its
 * Postgres meaning (units_sold "12", a TEXT date "2022-02-30", money as a float) throws
 * SourceValueError, a permanent error that sends the event to quarantine instead of the warehouse.
 */
export class SourceValueError extends BadInputError {
  constructor(
    message: string,
    readonly table: string,
    readonly column: string,
    readonly eventId?: string,
  ) {
    super(message, { context: { table, column, eventId } });
  }
}

/** An event for a table that is not captured (e.g. `_prisma_migrations`): quarantined as `unknown-table`. */
export class UnknownSourceTableError extends SourceValueError {
  constructor(table: string, eventId?: string) {
    super(`unknown source table ${JSON.stringify(table)}`, table, '*', eventId);
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
  // Postgres text cannot hold U+0000, and a lone surrogate has no UTF-8 form (it would be stored
  // altered, as U+FFFD): refused here, this one event is quarantined, not its whole batch at load.
  if (!isStorableText(value)) fail(src, column, value, 'text Postgres can store (no NUL character, no lone UTF-16 surrogate)');
  return value;
}

/** True when Postgres stores `text` unchanged: no NUL, well-formed UTF-16 (so valid UTF-8). */
export function isStorableText(text: string): boolean {
  return !text.includes('\0') && (text as WellFormedText).isWellFormed();
}
/** String.prototype.isWellFormed (Node 20+, ES2024: newer than the compiler's lib setting). */
type WellFormedText = string & { isWellFormed(): boolean };

export function optionalText(src: SourceRow, column: string): string | null {
  return src.row[column] === null || src.row[column] === undefined ? null : requiredText(src, column);
}

export function requiredBoolean(src: SourceRow, column: string): boolean {
  const value = present(src, column);
  if (typeof value !== 'boolean') fail(src, column, value, 'a boolean');
  return value;
}

const MONEY = /^(-?)(\d{1,8})(?:\.(\d{1,2}))?$/;

const DIGIT_0 = 48;
const MINUS = 45;
const DOT = 46;
const COLON = 58;
const T = 84;

function isDigit(code: number): boolean {
  return code >= DIGIT_0 && code <= DIGIT_0 + 9;
}

/** Value of the `count` ASCII digits of `text` from `at`, or -1 when one of them is not a digit. */
export function digitsAt(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    value = value * 10 + (code - DIGIT_0);
  }
  return value;
}

/**
 * True when requiredMoney would return `text` unchanged: an optional '-', 1-8 integer digits without
 * a leading zero (except a lone '0'), '.', exactly two fraction digits, and no '-' on a zero. This is
 * how capture writes numeric(10,2), so the regex and the string rebuilding run only for other forms.
 */
function isCanonicalMoney(text: string): boolean {
  const negative = text.charCodeAt(0) === MINUS;
  const integerStart = negative ? 1 : 0;
  const dot = text.length - 3;
  const integerDigits = dot - integerStart;
  if (integerDigits < 1 || integerDigits > 8 || text.charCodeAt(dot) !== DOT) return false;
  if (integerDigits > 1 && text.charCodeAt(integerStart) === DIGIT_0) return false;
  let nonZero = false;
  for (let i = integerStart; i < text.length; i++) {
    if (i === dot) continue;
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return false;
    if (code !== DIGIT_0) nonZero = true;
  }
  return !negative || nonZero;
}

/**
 * numeric(10,2) as an exact decimal string with exactly two fraction digits ('3.9' → '3.90',
 * '3.94' stays '3.94'). Floats are refused: they may already have lost the exact value.
 */
export function requiredMoney(src: SourceRow, column: string): string {
  const value = present(src, column);
  if (typeof value === 'string' && isCanonicalMoney(value)) return value;
  const m = typeof value === 'string' ? MONEY.exec(value) : null;
  if (!m) fail(src, column, value, 'a numeric(10,2) decimal string');
  const integer = m[2].replace(/^0+(?=\d)/, '');
  const fraction = (m[3] ?? '').padEnd(2, '0');
  const negative = m[1] === '-' && /[1-9]/.test(integer + fraction);
  return `${negative ? '-' : ''}${integer}.${fraction}`;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isCalendarDay(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= DAYS_IN_MONTH[month - 1] + (leap ? 1 : 0);
}

/** isCalendarDate for the 10 characters of `text` from `at`, without slicing them out. */
export function isCalendarDateAt(text: string, at: number): boolean {
  if (text.charCodeAt(at + 4) !== MINUS || text.charCodeAt(at + 7) !== MINUS) return false;
  const year = digitsAt(text, at, 4);
  const month = digitsAt(text, at + 5, 2);
  const day = digitsAt(text, at + 8, 2);
  return year >= 0 && month >= 0 && day >= 0 && isCalendarDay(year, month, day);
}

/**
 * A real proleptic-Gregorian date 'YYYY-MM-DD' (year 0001-9999). Runs per value (3-4 per fact), so
 * it reads character codes instead of running a regex; non-strings keep the regex's coercion.
 */
export function isCalendarDate(text: string): boolean {
  if (typeof text !== 'string') return isCalendarDateByRegex(text);
  return text.length === 10 && isCalendarDateAt(text, 0);
}

function isCalendarDateByRegex(text: string): boolean {
  const m = DATE.exec(text);
  return m !== null && isCalendarDay(Number(m[1]), Number(m[2]), Number(m[3]));
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
 * True for 'YYYY-MM-DDTHH:MM:SS.mmm' with a real date and time of day: the form capture writes
 * timestamp(3) in, which is already its own normalized form (see requiredTimestamp).
 */
function isCanonicalTimestamp(text: string): boolean {
  return text.length === 23 && text.charCodeAt(19) === DOT && digitsAt(text, 20, 3) >= 0 && isDateAndTimeOfDay(text);
}

/** Whether `text` starts 'YYYY-MM-DDTHH:MM:SS' with a real date and time of day. */
function isDateAndTimeOfDay(text: string): boolean {
  if (text.charCodeAt(10) !== T || text.charCodeAt(13) !== COLON || text.charCodeAt(16) !== COLON) return false;
  const hours = digitsAt(text, 11, 2);
  const minutes = digitsAt(text, 14, 2);
  const seconds = digitsAt(text, 17, 2);
  return hours >= 0 && hours <= 23 && minutes >= 0 && minutes <= 59 && seconds >= 0 && seconds <= 59 && isCalendarDateAt(text, 0);
}

/** The last value isCanonicalTimestamp accepted: created_at and last_updated are often equal. */
let lastCanonicalTimestamp: string | undefined;

/**
 * requiredTimestamp of 'YYYY-MM-DDTHH:MM:SS' with no, one or two fraction digits (Postgres prints
 * timestamp(3) without trailing zeros, so about one value in nine has this form): the text with its
 * fraction padded to three digits, exactly what the regex below makes of it; undefined for anything
 * else (the regex then decides). Without it those values cost a regex match and a rebuilt string.
 */
function paddedShortTimestamp(text: string): string | undefined {
  const length = text.length;
  if (length !== 19 && length !== 21 && length !== 22) return undefined;
  if (length > 19 && (text.charCodeAt(19) !== DOT || digitsAt(text, 20, length - 20) < 0)) return undefined;
  if (!isDateAndTimeOfDay(text)) return undefined;
  return length === 19 ? `${text}.000` : length === 21 ? `${text}00` : `${text}0`;
}

/** The last short value padded, and its padded form (the same string object each time: the date/time memos below hit). */
let lastShortTimestamp: string | undefined;
let lastPaddedTimestamp = '';

/**
 * A `timestamp(3)` normalized to 'YYYY-MM-DDTHH:MM:SS.mmm' exactly as written: no time-zone
 * conversion, the source's wall-clock value is the business value. Its first 10 characters are the
 * date and the last 12 the time of day (timestampDate / timestampTime).
 */
export function requiredTimestamp(src: SourceRow, column: string): string {
  const value = present(src, column);
  if (typeof value === 'string' && (value === lastCanonicalTimestamp || isCanonicalTimestamp(value))) {
    lastCanonicalTimestamp = value;
    return value;
  }
  if (typeof value === 'string') {
    if (value === lastShortTimestamp) return lastPaddedTimestamp;
    const padded = paddedShortTimestamp(value);
    if (padded !== undefined) {
      lastShortTimestamp = value;
      lastPaddedTimestamp = padded;
      return padded;
    }
  }
  const m = typeof value === 'string' ? TIMESTAMP.exec(value) : null;
  if (!m || !isCalendarDate(m[1]) || Number(m[2]) > 23 || Number(m[3]) > 59 || Number(m[4]) > 59) {
    fail(src, column, value, 'a timestamp YYYY-MM-DDTHH:MM:SS.mmm');
  }
  const millis = (m[5] ?? '').slice(0, 3).padEnd(3, '0');
  return `${m[1]}T${m[2]}:${m[3]}:${m[4]}.${millis}`;
}

/*
 * The parts of the last timestamp split are remembered: created_at and last_updated are often equal,
 * and the rows of one transaction share them, so most fact rows then share these strings instead of
 * each keeping copies alive until the batch is written (fewer allocations, less GC).
 */
let lastDateOf = '';
let lastDate = '';
let lastTimeOf = '';
let lastTime = '';

/** The date part of a requiredTimestamp value. */
export function timestampDate(timestamp: string): string {
  if (timestamp !== lastDateOf) {
    lastDateOf = timestamp;
    lastDate = timestamp.slice(0, 10);
  }
  return lastDate;
}

/** The time-of-day part of a requiredTimestamp value, 'HH:MM:SS.mmm'. */
export function timestampTime(timestamp: string): string {
  if (timestamp !== lastTimeOf) {
    lastTimeOf = timestamp;
    lastTime = timestamp.slice(11);
  }
  return lastTime;
}
