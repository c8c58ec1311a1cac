/**
 * Timestamps as the totesys source stores them: `timestamp(3)` without zone, which this project
 * reads and writes as UTC wall-clock text 'YYYY-MM-DD HH:MM:SS.mmm'. Values are passed to Postgres
 * as text, never as JS Dates (node-postgres would convert a Date to the client's local zone).
 */
export const MS_PER_DAY = 86_400_000;

export function formatTimestamp(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // 2022-11-03T14:20:49.962Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** 'YYYY-MM-DD' of the UTC day containing epochMs (the agreed dates and payment_date are TEXT). */
export function formatDate(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
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
