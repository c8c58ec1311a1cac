/**
 * Timestamps as the totesys source stores them: `timestamp(3)` without zone, which this project
 * reads and writes as UTC wall-clock text 'YYYY-MM-DD HH:MM:SS.mmm'. Values are passed to Postgres
 * as text, never as JS Dates (node-postgres would convert a Date to the client's local zone).
 */
export const MS_PER_DAY = 86_400_000;

const dayTextCache = new Map<number, string>();

/** 'YYYY-MM-DD' of a UTC day number; cached because the generator formats millions of instants on few days. */
function dayText(dayNumber: number): string {
  let text = dayTextCache.get(dayNumber);
  if (text === undefined) {
    text = new Date(dayNumber * MS_PER_DAY).toISOString().slice(0, 10);
    if (dayTextCache.size > 100_000) dayTextCache.clear();
    dayTextCache.set(dayNumber, text);
  }
  return text;
}

const pad2 = (n: number) => (n < 10 ? '0' : '') + n;

export function formatTimestamp(epochMs: number): string {
  const dayNumber = Math.floor(epochMs / MS_PER_DAY);
  let ms = epochMs - dayNumber * MS_PER_DAY;
  const hours = Math.floor(ms / 3_600_000);
  ms -= hours * 3_600_000;
  const minutes = Math.floor(ms / 60_000);
  ms -= minutes * 60_000;
  const seconds = Math.floor(ms / 1000);
  ms -= seconds * 1000;
  const millis = ms < 10 ? '00' + ms : ms < 100 ? '0' + ms : String(ms);
  return `${dayText(dayNumber)} ${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${millis}`;
}

/** 'YYYY-MM-DD' of the UTC day containing epochMs (the agreed dates and payment_date are TEXT). */
export function formatDate(epochMs: number): string {
  return dayText(Math.floor(epochMs / MS_PER_DAY));
}

export function startOfUtcDay(epochMs: number): number {
  return Math.floor(epochMs / MS_PER_DAY) * MS_PER_DAY;
}

/** ISO day of week, Monday = 1 … Sunday = 7. */
export function isoDayOfWeek(epochMs: number): number {
  const day = new Date(epochMs).getUTCDay();
  return day === 0 ? 7 : day;
}

export function isWeekday(epochMs: number): boolean {
  return isoDayOfWeek(epochMs) <= 5;
}
