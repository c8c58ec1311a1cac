import { describe, expect, it } from 'vitest';
import type { Row } from '../../contracts/change-event.js';
import { SOURCE_TABLES, type SourceTable } from '../../contracts/source-tables.js';
import { isBadInput } from '../../platform/errors.js';
import { silentLogger } from '../../platform/logger.js';
import { MemoryJoinStateStore } from '../../stream-processors/state/memory-join-state-store.js';
import { assertWarehouseColumns, MissingSourceColumnError, WAREHOUSE_SOURCE_COLUMNS } from '../../stream-processors/warehouse-source-columns.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';
import { rowsForEvent } from '../support/event-rows-list.js';

function only(row: Row, columns: readonly string[]): Row {
  return Object.fromEntries(Object.entries(row).filter(([name]) => columns.includes(name)));
}

describe('the source columns the warehouse needs (issue 14 item 6)', () => {
  it.each(SOURCE_TABLES)('%s: a row with only the listed columns gives the same warehouse rows as the full row', async (table: SourceTable) => {
    const full = sourceRow[table]();
    const fullRows = await rowsForEvent(changeEvent(table, 'c', full, { lsn: 0x1000 }), { state: new MemoryJoinStateStore(), logger: silentLogger });
    const trimmedRows = await rowsForEvent(changeEvent(table, 'c', only(full, WAREHOUSE_SOURCE_COLUMNS[table]), { lsn: 0x1000 }), { state: new MemoryJoinStateStore(), logger: silentLogger });
    expect(trimmedRows).toEqual(fullRows);
    // Every listed column is a real column of the source row (no typo that would quarantine everything).
    for (const column of WAREHOUSE_SOURCE_COLUMNS[table]) expect(Object.keys(full)).toContain(column);
  });

  it('extra columns (added in the source) pass and are ignored', async () => {
    const event = changeEvent('address', 'u', sourceRow.address({ mobile_phone: '07700 900123' }));
    expect(() => assertWarehouseColumns(event)).not.toThrow();
    const rows = await rowsForEvent(event, { state: new MemoryJoinStateStore(), logger: silentLogger });
    for (const { row } of rows) expect(Object.keys(row)).not.toContain('mobile_phone');
  });

  it('a needed column missing (dropped or renamed) is bad input naming the table and column, even a nullable one', () => {
    const { city: _city, ...withoutCity } = sourceRow.address();
    const event = changeEvent('address', 'u', { ...withoutCity, town: 'Leeds' });
    expect(() => assertWarehouseColumns(event)).toThrow(MissingSourceColumnError);
    expect(() => assertWarehouseColumns(event)).toThrow(/^address\.city: column missing from the source row; it was dropped or renamed/);
    try {
      assertWarehouseColumns(event);
    } catch (error) {
      expect(isBadInput(error)).toBe(true);
      expect(error).toMatchObject({ table: 'address', column: 'city' });
    }
    const { units_sold: _u, unit_price: _p, ...order } = sourceRow.sales_order();
    expect(() => assertWarehouseColumns(changeEvent('sales_order', 'c', order))).toThrow('sales_order.units_sold: column missing from the source row; it was dropped or renamed in the source and the warehouse needs it (also missing: unit_price)');
  });

  it('throws exactly when a listed column is not `in` the row, for every table and every subset tried (its compiled check against the definition)', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const table of SOURCE_TABLES) {
      const full = sourceRow[table]();
      const listed = WAREHOUSE_SOURCE_COLUMNS[table];
      const subsets: Row[] = [full, { ...full, [listed[0]!]: null }, ...listed.map((column) => only(full, listed.filter((c) => c !== column)))];
      for (let i = 0; i < 200; i++) subsets.push(Object.fromEntries(Object.entries(full).filter(() => random() < 0.9)));
      for (const row of subsets) {
        const missing = listed.filter((column) => !(column in row));
        const event = changeEvent(table, 'u', full);
        event.after = row;
        const thrown = (() => {
          try {
            assertWarehouseColumns(event);
            return undefined;
          } catch (error) {
            return (error as MissingSourceColumnError).column;
          }
        })();
        expect(thrown, `${table} without ${missing.join(', ')}`).toBe(missing[0]);
      }
    }
  });

  it('deletes are not checked (their row is a tombstone; the default replica identity sends the key alone)', () => {
    expect(() => assertWarehouseColumns(changeEvent('address', 'd', { address_id: 1 }))).not.toThrow();
  });
});
