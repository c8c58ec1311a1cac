import { describe, expect, it } from 'vitest';
import type { ChangeEvent, Row } from '../../contracts/change-event.js';
import type { WarehouseTable } from '../../contracts/warehouse-model.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { silentLogger } from '../../platform/logger.js';
import { BatchRows } from '../../stream-processors/batch-rows.js';
import { addRowsForEvent } from '../../stream-processors/event-rows.js';
import { MemoryJoinStateStore } from '../../stream-processors/state/memory-join-state-store.js';
import { changedPrimaryKeyOf, oldKeyDeleteId, splitKeyChange } from '../../stream-processors/transform/key-change.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';

/** A key-changing update as capture writes it: `before` the whole old row (FULL) or its key alone (default identity). */
function keyChange(table: Parameters<typeof changeEvent>[0], after: Row, before: Row, lsn: number, seq = 0): ChangeEvent {
  return changeEvent(table, 'u', after, { lsn, seq, before });
}

async function rowsOf(events: ChangeEvent[], state = new MemoryJoinStateStore()): Promise<Partial<Record<WarehouseTable, WarehouseRow[]>>> {
  const batch = new BatchRows();
  for (const event of events) await addRowsForEvent(event, { state, logger: silentLogger }, batch);
  return Object.fromEntries(batch.tables().map(({ table, rows }) => [table, rows]));
}

describe('primary-key changes (transform/key-change.ts)', () => {
  const oldOrder = sourceRow.purchase_order({ purchase_order_id: 4646, item_quantity: 5 });
  const newOrder = sourceRow.purchase_order({ purchase_order_id: 900001, item_quantity: 6 });

  it('finds the old key only in an update whose before holds another key value', () => {
    expect(changedPrimaryKeyOf(keyChange('purchase_order', newOrder, oldOrder, 0x2000))).toBe(4646);
    expect(changedPrimaryKeyOf(keyChange('purchase_order', newOrder, { purchase_order_id: 4646 }, 0x2000))).toBe(4646);
    expect(changedPrimaryKeyOf(keyChange('purchase_order', newOrder, { ...oldOrder, purchase_order_id: 900001 }, 0x2000))).toBeUndefined();
    expect(changedPrimaryKeyOf(changeEvent('purchase_order', 'u', newOrder))).toBeUndefined(); // before null (default identity, key unchanged)
    expect(changedPrimaryKeyOf(changeEvent('purchase_order', 'c', newOrder, { before: oldOrder }))).toBeUndefined();
    expect(changedPrimaryKeyOf(changeEvent('purchase_order', 'd', oldOrder))).toBeUndefined();
  });

  it('splits it into the old key delete (the old image, own id, same version) and the new key create', () => {
    const event = keyChange('purchase_order', newOrder, oldOrder, 0x2000, 3);
    const split = splitKeyChange(event)!;
    expect(split.deleteOld).toMatchObject({ id: oldKeyDeleteId(event.id), op: 'd', key: { purchase_order_id: 4646 }, before: oldOrder, after: null, source: event.source });
    expect(split.createNew).toMatchObject({ id: event.id, op: 'c', key: { purchase_order_id: 900001 }, after: newOrder });
    // Default identity: only the old key is known; the delete version carries the new values under it.
    const keyOnly = splitKeyChange(keyChange('purchase_order', newOrder, { purchase_order_id: 4646 }, 0x2000))!;
    expect(keyOnly.deleteOld.before).toEqual({ ...newOrder, purchase_order_id: 4646 });
  });

  it('a fact gets a d version for the old id at the change, and the new id its first version', async () => {
    const rows = await rowsOf([changeEvent('purchase_order', 'r', oldOrder, { lsn: 0x1000 }), keyChange('purchase_order', newOrder, oldOrder, 0x2000, 3)]);
    const versions = rows.fact_purchase_order!.map((r) => [r.purchase_order_id, r.op, r.event_id, r.source_lsn, r.source_seq, r.item_quantity]);
    expect(versions).toEqual([
      [4646, 'r', 'snapshot/purchase_order/4646@0/1000', 0x1000n, -1, 5],
      [4646, 'd', 'old-key:0/2000/3', 0x2000n, 3, 5],
      [900001, 'c', '0/2000/3', 0x2000n, 3, 6],
    ]);
  });

  it('a copied dimension marks the old key deleted and creates the new one', async () => {
    const rows = await rowsOf([keyChange('design', sourceRow.design({ design_id: 80 }), sourceRow.design({ design_id: 8 }), 0x2000, 1)]);
    expect(rows.dim_design!.map((r) => [r.design_id, r.is_deleted, r.version_lsn, r.version_seq])).toEqual([
      [8, true, 0x2000n, 1],
      [80, false, 0x2000n, 1],
    ]);
  });

  it('staff: dim_staff marks the old staff id deleted, and the join state keeps its tombstone', async () => {
    const state = new MemoryJoinStateStore();
    await rowsOf([changeEvent('department', 'r', sourceRow.department({ department_id: 1 }), { lsn: 0x1000 }), changeEvent('staff', 'r', sourceRow.staff({ staff_id: 1 }), { lsn: 0x1000 })], state);
    const rows = await rowsOf([keyChange('staff', sourceRow.staff({ staff_id: 100 }), { staff_id: 1 }, 0x2000)], state);
    expect(rows.dim_staff!.map((r) => [r.staff_id, r.is_deleted, r.department_name])).toEqual([
      [1, true, 'Sales'],
      [100, false, 'Sales'],
    ]);
    expect((await state.get('staff', 1))?.deleted).toBe(true);
    expect((await state.get('staff', 100))?.deleted).toBe(false);
  });

  it('department key change with its cascaded staff update (ON UPDATE CASCADE): staff end joined to the new key', async () => {
    const state = new MemoryJoinStateStore();
    await rowsOf([changeEvent('department', 'r', sourceRow.department({ department_id: 1 }), { lsn: 0x1000 }), changeEvent('staff', 'r', sourceRow.staff({ staff_id: 7, department_id: 1 }), { lsn: 0x1000 })], state);
    const department = keyChange('department', sourceRow.department({ department_id: 10, department_name: 'Sales' }), { department_id: 1 }, 0x2000, 0);
    const cascaded = changeEvent('staff', 'u', sourceRow.staff({ staff_id: 7, department_id: 10 }), { lsn: 0x2000, seq: 1 });
    // Either order: the two events are on different shards.
    for (const order of [[department, cascaded], [cascaded, department]]) {
      const copy = new MemoryJoinStateStore();
      for (const { table, id, value } of state.entries()) copy.apply(table, id, value);
      const batch = new BatchRows();
      for (const event of order) await addRowsForEvent(event, { state: copy, logger: silentLogger }, batch);
      const staff = batch.tables().find((t) => t.table === 'dim_staff')!.rows;
      expect(staff.map((r) => [r.staff_id, r.department_name, r.is_deleted])).toEqual([[7, 'Sales', false]]);
      expect((await copy.get('department', 1))?.deleted).toBe(true);
    }
  });

  it('an invalid new image fails the whole event and leaves no tombstone behind', async () => {
    const state = new MemoryJoinStateStore();
    const event = keyChange('staff', sourceRow.staff({ staff_id: 100, first_name: 42 }), { staff_id: 1 }, 0x2000);
    const batch = new BatchRows();
    await expect(addRowsForEvent(event, { state, logger: silentLogger }, batch)).rejects.toThrow();
    expect(await state.get('staff', 1)).toBeNull();
    expect(batch.tables()).toEqual([]);
  });
});
