import type { ChangeEvent } from '../../contracts/change-event.js';
import { addRowsForEvent, type EmittedRow, type EventRowsContext } from '../../stream-processors/event-rows.js';
import { dimDateRow, referencedDates } from '../../stream-processors/transform/dim-date.js';

/** The warehouse rows one change event yields, as a list (processEvents adds them to its BatchRows instead). */
export async function rowsForEvent(event: ChangeEvent, ctx: EventRowsContext): Promise<EmittedRow[]> {
  const rows: EmittedRow[] = [];
  await addRowsForEvent(event, ctx, {
    addFact: (table, row) => rows.push({ table, row }, ...referencedDates(table, row).map((date) => ({ table: 'dim_date' as const, row: dimDateRow(date) }))),
    addDimension: (table, row) => rows.push({ table, row }),
  });
  return rows;
}
