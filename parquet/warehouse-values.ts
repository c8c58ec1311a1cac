/**
 * Exact conversions between the text forms of warehouse values (warehouse-row.ts) and the integers
 * Parquet stores for them: days since 1970-01-01 (DATE), milliseconds of the day (TIME), cents
 * (DECIMAL(10,2)) and epoch milliseconds (TIMESTAMP). Hot path of every encode and decode, so the
 * canonical forms are read and written with char codes and integer arithmetic, no RegExp, Date or
 * BigInt. Each parser returns NaN for anything outside its strict fast path; the caller then runs the
 * original RegExp/Date logic, which decides (and words) the outcome, so unusual input behaves exactly
 * as before.
 */

const DAY_MS = 86_400_000;
/** Days from 1970-01-01 to 0000-01-01 and to 9999-12-31: Date.prototype.toISOString's 4-digit years. */
const FIRST_4_DIGIT_DAY = -719_528;
const LAST_4_DIGIT_DAY = 2_932_896;

/** Proleptic Gregorian day number (0 = 1970-01-01) of a valid y-m-d (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Value of the ASCII digit at `i`, or -1. */
function digit(text: string, i: number): number {
  const c = text.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** Value of `count` ASCII digits from `i`, or -1 if any is not a digit. */
function digits(text: string, i: number, count: number): number {
  let value = 0;
  for (let k = 0; k < count; k++) {
    const d = digit(text, i + k);
    if (d < 0) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * 'YYYY-MM-DD' → days since epoch, for real calendar dates in years 0100..9999 (the old Date.UTC
 * round-trip maps years 0..99 to 19xx and so rejected them: those go to the slow path too).
 */
export function parseDateDays(text: string): number {
  if (text.length !== 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return NaN;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  return daysFromCivil(year, month, day);
}

/** 'HH:MM:SS.mmm' (exactly three fraction digits, the transforms' form) → milliseconds; other forms NaN. */
export function parseTimeMs(text: string): number {
  if (text.length !== 12 || text.charCodeAt(2) !== 58 || text.charCodeAt(5) !== 58 || text.charCodeAt(8) !== 46) return NaN;
  const hh = digits(text, 0, 2);
  const mm = digits(text, 3, 2);
  const ss = digits(text, 6, 2);
  const ms = digits(text, 9, 3);
  if (hh < 0 || mm < 0 || ss < 0 || ms < 0) return NaN;
  return ((hh * 60 + mm) * 60 + ss) * 1000 + ms;
}

/** '-?D{1,8}(.D{1,2})?' → cents (never -0); NaN when the text is not of that form. */
export function parseMoneyCents(text: string): number {
  const length = text.length;
  let i = text.charCodeAt(0) === 45 ? 1 : 0;
  const negative = i === 1;
  let whole = 0;
  const wholeStart = i;
  for (; i < length; i++) {
    const d = digit(text, i);
    if (d < 0) break;
    whole = whole * 10 + d;
  }
  const wholeDigits = i - wholeStart;
  if (wholeDigits < 1 || wholeDigits > 8) return NaN;
  let cents = whole * 100;
  if (i < length) {
    if (text.charCodeAt(i) !== 46) return NaN;
    const fractionDigits = length - i - 1;
    if (fractionDigits === 1) {
      const d = digit(text, i + 1);
      if (d < 0) return NaN;
      cents += d * 10;
    } else if (fractionDigits === 2) {
      const d = digits(text, i + 1, 2);
      if (d < 0) return NaN;
      cents += d;
    } else {
      return NaN;
    }
  }
  return negative && cents !== 0 ? -cents : cents;
}

/**
 * 'YYYY-MM-DDTHH:MM:SS.mmmZ' (toISOString's form, years 0000..9999, valid fields) → epoch ms, equal
 * to Date.parse for those; any other text NaN, so the caller falls back to Date.parse itself.
 */
export function parseInstantMs(text: string): number {
  if (
    text.length !== 24 ||
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58 ||
    text.charCodeAt(19) !== 46 ||
    text.charCodeAt(23) !== 90
  )
    return NaN;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hh = digits(text, 11, 2);
  const mm = digits(text, 14, 2);
  const ss = digits(text, 17, 2);
  const ms = digits(text, 20, 3);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59 || ms < 0) return NaN;
  return daysFromCivil(year, month, day) * DAY_MS + ((hh * 60 + mm) * 60 + ss) * 1000 + ms;
}

const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'));
const THREE_DIGITS: readonly string[] = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));

function civilText(days: number): string {
  // H. Hinnant's civil_from_days; only called for 4-digit years.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${TWO_DIGITS[(year / 100) | 0]}${TWO_DIGITS[year % 100]}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}`;
}

/** Days since epoch → 'YYYY-MM-DD', identical to new Date(days * 86400000).toISOString().slice(0, 10). */
export function formatDateDays(days: number): string {
  if (Number.isInteger(days) && days >= FIRST_4_DIGIT_DAY && days <= LAST_4_DIGIT_DAY) return civilText(days);
  return new Date(days * DAY_MS).toISOString().slice(0, 10);
}

/** Epoch ms → ISO-8601 UTC text, identical to new Date(ms).toISOString() (which it uses off the fast path, errors included). */
export function formatInstantMs(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  if (Number.isInteger(ms) && days >= FIRST_4_DIGIT_DAY && days <= LAST_4_DIGIT_DAY) {
    let rest = ms - days * DAY_MS;
    const milliseconds = rest % 1000;
    rest = (rest - milliseconds) / 1000;
    const seconds = rest % 60;
    rest = (rest - seconds) / 60;
    const minutes = rest % 60;
    const hours = (rest - minutes) / 60;
    return `${civilText(days)}T${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${THREE_DIGITS[milliseconds]}Z`;
  }
  return new Date(ms).toISOString();
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Milliseconds of the day → 'HH:MM:SS.mmm' (the loader's text form; hours are not capped, as before). */
export function formatTimeMs(ms: number): string {
  if (Number.isInteger(ms) && ms >= 0 && ms < 360_000_000) {
    const milliseconds = ms % 1000;
    const seconds = Math.floor(ms / 1000) % 60;
    const minutes = Math.floor(ms / 60_000) % 60;
    const hours = Math.floor(ms / 3_600_000);
    return `${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${THREE_DIGITS[milliseconds]}`;
  }
  const hh = Math.floor(ms / 3_600_000);
  const mm = Math.floor(ms / 60_000) % 60;
  const ss = Math.floor(ms / 1000) % 60;
  return `${pad2(hh)}:${pad2(mm)}:${pad2(ss)}.${String(ms % 1000).padStart(3, '0')}`;
}

/**
 * A DECIMAL(10,2) as hyparquet hands it over (cents * 0.01 as a double) → exact 'D.DD' text,
 * identical to value.toFixed(2): below 1e9 the double is within 1e-7 of the cents, so rounding to
 * whole cents recovers them exactly.
 */
export function formatMoney(value: number): string {
  const cents = Math.round(value * 100);
  // Off the exact-cents grid (never from a DECIMAL(10,2) file), toFixed's own rounding decides.
  if (!(Math.abs(value) < 1e9) || Math.abs(value * 100 - cents) > 1e-3 || (cents === 0 && value < 0)) return value.toFixed(2);
  const magnitude = cents < 0 ? -cents : cents;
  const whole = Math.floor(magnitude / 100);
  return `${cents < 0 ? '-' : ''}${whole}.${TWO_DIGITS[magnitude - whole * 100]}`;
}
