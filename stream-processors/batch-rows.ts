import { WAREHOUSE_MODEL, WAREHOUSE_TABLES, type FactName, type WarehouseTable } from '../contracts/warehouse-model.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import type { EmittedRow, EventRowSink } from './event-rows.js';
import { dateColumnsOf, dimDateRow } from './transform/dim-date.js';
import { compareDimensionVersions } from '../contracts/warehouse-model.js';

/**
 * The rows of one batch, per warehouse table. Facts keep every version in input order. Dimensions
 * keep one row per key, the one with the highest (version_lsn, version_seq), a later row winning a
 * tie (it was built from at least as much state), so a file never holds two rows for one key
 * (a single upsert statement could not apply both). dim_date holds one row per date.
 */
export class BatchRows implements EventRowSink {
  private readonly facts = new Map<WarehouseTable, WarehouseRow[]>();
  /**
   * Per dimension, its rows by key. A key is the column's value when it is a number (every key but
   * dim_date's: transforms read ids with requiredInt), else its text: two numbers are the same key
   * exactly when their texts are, and a number is hashed without making its text (String(id) per
   * row was most of addDimension).
   */
  private readonly dimensions = new Map<WarehouseTable, Map<string | number, WarehouseRow>>();
  /**
   * Per position in a fact's date columns, the last date seen there that dim_date already holds
   * (a date, once added, stays for the batch). Consecutive facts mostly reference the same dates
   * (a transaction's rows, a snapshot in key order), so most checks are one string comparison
   * instead of a hash lookup: 3-5 per fact row was most of addFact.
   */
  private readonly knownDates: (string | undefined)[] = [];

  add({ table, row }: EmittedRow): void {
    if (WAREHOUSE_MODEL[table].kind === 'fact') this.factRows(table).push(row);
    else this.addDimension(table, row);
  }

  /**
   * A fact row plus the dim_date row of every date it references, as `add` would get them from
   * rowsForEvent, without building the date rows the batch already holds (a date's row is always
   * the same). Dates new to the batch are checked before anything is added: all or nothing.
   */
  addFact(table: FactName, row: WarehouseRow): void {
    const dateColumns = dateColumnsOf(table);
    const known = this.knownDates;
    let dates: Map<string | number, WarehouseRow> | undefined;
    let newDates = 0;
    for (let i = 0; i < dateColumns.length; i++) {
      const date = row[dateColumns[i]!];
      if (typeof date !== 'string' || date === known[i]) continue;
      dates ??= this.dimensionRows('dim_date');
      if (dates.has(date)) known[i] = date;
      else {
        dimDateRow(date); // throws for a non-date
        newDates++;
      }
    }
    this.factRows(table).push(row);
    if (newDates === 0) return;
    for (let i = 0; i < dateColumns.length; i++) {
      const date = row[dateColumns[i]!];
      if (typeof date !== 'string') continue;
      if (!dates!.has(date)) dates!.set(date, dimDateRow(date));
      known[i] = date;
    }
  }

  addDimension(table: WarehouseTable, row: WarehouseRow): void {
    const spec = WAREHOUSE_MODEL[table];
    if (spec.kind === 'fact') throw new TypeError(`${table} is a fact table`);
    const byKey = this.dimensionRows(table);
    const value = row[spec.key];
    const key = typeof value === 'number' ? value : String(value);
    const current = byKey.get(key);
    if (!current || table === 'dim_date' || !isNewer(current, row)) byKey.set(key, row);
  }

  /** Tables with rows, dimensions before facts (WAREHOUSE_TABLES order), each with its rows. */
  tables(): { table: WarehouseTable; rows: WarehouseRow[] }[] {
    const out: { table: WarehouseTable; rows: WarehouseRow[] }[] = [];
    for (const table of WAREHOUSE_TABLES) {
      const rows = this.facts.get(table) ?? [...(this.dimensions.get(table)?.values() ?? [])];
      if (rows.length > 0) out.push({ table, rows });
    }
    return out;
  }

  private factRows(table: WarehouseTable): WarehouseRow[] {
    let rows = this.facts.get(table);
    if (!rows) this.facts.set(table, (rows = []));
    return rows;
  }

  private dimensionRows(table: WarehouseTable): Map<string | number, WarehouseRow> {
    let byKey = this.dimensions.get(table);
    if (!byKey) this.dimensions.set(table, (byKey = new Map()));
    return byKey;
  }
}

/** True when `current` is strictly newer than `candidate` (the loader's order, compareDimensionVersions). */
function isNewer(current: WarehouseRow, candidate: WarehouseRow): boolean {
  return compareDimensionVersions(current, candidate) > 0;
}
