import { FACTS, WAREHOUSE_MODEL, type FactName, type FactSpec } from '../../contracts/warehouse-model.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { isCalendarDate } from './source-values.js';

const DAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * Rows already built, by date: every fact row asks for 3-4 of them and a warehouse references a few
 * thousand dates. The rows are shared, frozen (nobody may change them); the cache is bounded.
 */
const built = new Map<string, WarehouseRow>();
const MAX_CACHED_DATES = 20_000;

/** Generated calendar row for one 'YYYY-MM-DD' date: ISO day_of_week (Monday 1 .. Sunday 7), English names. */
export function dimDateRow(date: string): WarehouseRow {
  const cached = built.get(date);
  if (cached) return cached;
  const row = Object.freeze(buildDimDateRow(date));
  if (built.size >= MAX_CACHED_DATES) built.clear();
  built.set(date, row);
  return row;
}

function buildDimDateRow(date: string): WarehouseRow {
  if (!isCalendarDate(date)) throw new RangeError(`not a calendar date: ${JSON.stringify(date)}`);
  const [year, month, day] = date.split('-').map(Number);
  const isoDayOfWeek = ((new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7) + 1;
  return {
    date_id: date,
    year,
    month,
    day,
    day_of_week: isoDayOfWeek,
    day_name: DAY_NAMES[isoDayOfWeek - 1],
    month_name: MONTH_NAMES[month - 1],
    quarter: Math.floor((month - 1) / 3) + 1,
  };
}

/** Per fact, the columns that reference dim_date (from the warehouse model's foreign keys). */
const DATE_COLUMNS: Readonly<Record<FactName, readonly string[]>> = Object.fromEntries(
  FACTS.map((fact) => [fact, (WAREHOUSE_MODEL[fact] as FactSpec).foreignKeys.filter((fk) => fk.references === 'dim_date').map((fk) => fk.column)]),
) as unknown as Record<FactName, readonly string[]>;

/** The columns of a fact that reference dim_date. */
export function dateColumnsOf(fact: FactName): readonly string[] {
  return DATE_COLUMNS[fact];
}

/** Every date a fact row references, so each gets its dim_date row. */
export function referencedDates(fact: FactName, factRow: WarehouseRow): string[] {
  const dates: string[] = [];
  for (const column of DATE_COLUMNS[fact]) {
    const value = factRow[column];
    if (typeof value === 'string') dates.push(value);
  }
  return dates;
}
