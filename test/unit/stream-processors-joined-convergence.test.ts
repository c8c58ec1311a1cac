import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChangeEvent, Row } from '../../contracts/change-event.js';
import { partitionKeyOf } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { silentLogger } from '../../platform/logger.js';
import { BatchRows } from '../../stream-processors/batch-rows.js';
import { addRowsForEvent } from '../../stream-processors/event-rows.js';
import type { JoinSourceTable, JoinStateStore } from '../../stream-processors/state/join-state-store.js';
import { MemoryJoinStateStore } from '../../stream-processors/state/memory-join-state-store.js';
import { compareDimensionVersions } from '../../contracts/warehouse-model.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';

/**
 * Issue 14 item 3: the joined dimensions (dim_staff = staff ⋈ department, dim_counterparty =
 * counterparty ⋈ address) converge to the source's current join under every interleaving of the two
 * sides: events on different shards, in batches of any size, processed concurrently (each state
 * read and write a point where the other shard may run), batches lost in a crash and processed
 * again, and manifests loaded in any order. The warehouse is modelled by the loader's rule: a row
 * replaces the stored one only with a strictly higher version (compareDimensionVersions, the order
 * mergeDimensionSql uses), so rows of equal version must also be equal rows.
 */
type Table = 'staff' | 'department' | 'counterparty' | 'address';
const KEY = { staff: 'staff_id', department: 'department_id', counterparty: 'counterparty_id', address: 'address_id' } as const;
const DIMENSION = { staff: 'dim_staff', counterparty: 'dim_counterparty' } as const;

/** The source: current rows per table and id, changed one transaction (one LSN) at a time. */
class Source {
  readonly rows = new Map<string, Row>();
  readonly events: ChangeEvent[] = [];
  private lsn = 0x1000;

  constructor() {
    for (const id of [1, 2]) this.snapshot('department', sourceRow.department({ department_id: id, department_name: `Dept ${id}`, location: `Town ${id}` }));
    for (const id of [1, 2, 3]) this.snapshot('staff', sourceRow.staff({ staff_id: id, department_id: 1 + (id % 2), last_name: `Staff ${id}` }));
    for (const id of [1, 2]) this.snapshot('address', sourceRow.address({ address_id: id, city: `City ${id}` }));
    for (const id of [1, 2, 3]) this.snapshot('counterparty', sourceRow.counterparty({ counterparty_id: id, legal_address_id: 1 + (id % 2), counterparty_legal_name: `Cp ${id}` }));
  }

  private snapshot(table: Table, row: Row): void {
    this.rows.set(`${table}#${row[KEY[table]]}`, row);
    this.events.push(changeEvent(table, 'r', row, { lsn: 0x1000 }));
  }

  update(table: Table, id: number, change: Row): void {
    const key = `${table}#${id}`;
    const row = { ...this.rows.get(key)!, ...change };
    this.rows.set(key, row);
    this.lsn += 0x10;
    this.events.push(changeEvent(table, 'u', row, { lsn: this.lsn }));
  }

  /** The joined dimension's content computed straight from the current rows. */
  expected(child: 'staff' | 'counterparty'): Record<number, string> {
    const out: Record<number, string> = {};
    for (const [key, row] of this.rows) {
      if (!key.startsWith(`${child}#`)) continue;
      if (child === 'staff') {
        const department = this.rows.get(`department#${row.department_id}`)!;
        out[row.staff_id as number] = `${row.last_name}|${department.department_name}|${department.location}`;
      } else {
        const address = this.rows.get(`address#${row.legal_address_id}`)!;
        out[row.counterparty_id as number] = `${row.counterparty_legal_name}|${address.city}`;
      }
    }
    return out;
  }
}

const contentOf = (child: 'staff' | 'counterparty', row: WarehouseRow): string =>
  child === 'staff' ? `${row.last_name}|${row.department_name}|${row.location}` : `${row.counterparty_legal_name}|${row.counterparty_legal_city}`;

/** The warehouse's joined dimensions under the loader's version rule. */
class Warehouse {
  private readonly rows = { dim_staff: new Map<number, WarehouseRow>(), dim_counterparty: new Map<number, WarehouseRow>() };

  load(batch: BatchRows): void {
    for (const { table, rows } of batch.tables()) {
      if (table !== 'dim_staff' && table !== 'dim_counterparty') continue;
      const key = table === 'dim_staff' ? 'staff_id' : 'counterparty_id';
      for (const row of rows) {
        const stored = this.rows[table].get(row[key] as number);
        if (!stored || compareDimensionVersions(row, stored) > 0) this.rows[table].set(row[key] as number, row);
      }
    }
  }

  content(child: 'staff' | 'counterparty'): Record<number, string> {
    const out: Record<number, string> = {};
    for (const [id, row] of this.rows[DIMENSION[child]]) if (!row.is_deleted) out[id] = contentOf(child, row);
    return out;
  }
}

/** A join state whose every read and write first waits for `yieldPoint`: where another shard may run. */
function interleaved(inner: JoinStateStore, yieldPoint: () => Promise<unknown>): JoinStateStore {
  return {
    put: async (table: JoinSourceTable, id, value) => (await yieldPoint(), inner.put(table, id, value)),
    get: async (table: JoinSourceTable, id) => (await yieldPoint(), inner.get(table, id)),
    staffIdsOfDepartment: async (id) => (await yieldPoint(), inner.staffIdsOfDepartment(id)),
    counterpartyIdsOfAddress: async (id) => (await yieldPoint(), inner.counterpartyIdsOfAddress(id)),
    flush: () => inner.flush(),
    close: () => inner.close(),
  };
}

/** Processes one batch of events into its rows, as processEvents does before writing Parquet. */
async function processBatch(events: readonly ChangeEvent[], state: JoinStateStore): Promise<BatchRows> {
  const rows = new BatchRows();
  for (const event of events) await addRowsForEvent(event, { state, logger: silentLogger }, rows);
  return rows;
}

/** A fresh source, join state and warehouse, with the source's snapshot processed and loaded. */
async function afterSnapshot(): Promise<{ source: Source; state: MemoryJoinStateStore; warehouse: Warehouse }> {
  const source = new Source();
  const state = new MemoryJoinStateStore();
  const warehouse = new Warehouse();
  warehouse.load(await processBatch(source.events, state));
  return { source, state, warehouse };
}

describe('joined dimensions converge (issue 14 item 3)', () => {
  // A child row changed (older), then its parent (newer), then the child again (newest); the child's
  // shard lags, so the parent's change is processed before or after the child's newest one.
  it.each<{ name: string; child: 'staff' | 'counterparty'; parent: Table; older: Row; parentChange: Row; newest: Row }>([
    { name: 'staff changed after its department', child: 'staff', parent: 'department', older: { last_name: 'Older change' }, parentChange: { department_name: 'Renamed' }, newest: { last_name: 'Newest change' } },
    { name: 'counterparty ⋈ address: a counterparty change', child: 'counterparty', parent: 'address', older: { counterparty_legal_name: 'Older' }, parentChange: { city: 'Moved' }, newest: { counterparty_legal_name: 'Newest' } },
  ])('$name, processed after a newer change of its parent: the newer child content wins, the parent change stays (both orders)', async ({ child, parent, older, parentChange, newest }) => {
    for (const order of ['parent first', 'child first'] as const) {
      const { source, state, warehouse } = await afterSnapshot();
      // Child 1 references parent 2 in the snapshot.
      source.update(child, 1, older); // lsn A
      source.update(parent, 2, parentChange); // lsn B > A
      source.update(child, 1, newest); // lsn C > B
      const [childA, parentB, childC] = source.events.slice(-3);
      // Shard 1 has the child's changes, shard 2 the parent's; shard 1 lags behind.
      const batches = order === 'parent first' ? [[childA], [parentB], [childC]] : [[childA], [childC], [parentB]];
      for (const batch of batches) warehouse.load(await processBatch(batch, state));
      expect(warehouse.content(child), order).toEqual(source.expected(child));
    }
  });

  it('a staff move to another department is applied whichever side is processed first', async () => {
    for (const order of ['move first', 'new department first'] as const) {
      const { source, state, warehouse } = await afterSnapshot();
      source.update('staff', 1, { department_id: 1 }); // staff 1 leaves department 2 for 1 (snapshot version only)
      source.update('department', 2, { department_name: 'Busy' }); // later changes of the department it left
      source.update('department', 2, { department_name: 'Busier' });
      const [move, busy, busier] = source.events.slice(-3);
      const batches = order === 'move first' ? [[busy, busier], [move]] : [[move], [busy, busier]];
      // The loader may load the manifests in any order.
      const built = [];
      for (const batch of batches) built.push(await processBatch(batch, state));
      for (const batch of [...built].reverse()) warehouse.load(batch);
      expect(warehouse.content('staff'), order).toEqual(source.expected('staff'));
    }
  });

  it('property: any interleaving of shards, batches, crashes and load order converges to the source join', async () => {
    const change = fc.oneof(
      fc.record({ table: fc.constant<Table>('staff'), id: fc.integer({ min: 1, max: 3 }), department: fc.integer({ min: 1, max: 2 }), name: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ table: fc.constant<Table>('department'), id: fc.integer({ min: 1, max: 2 }), name: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ table: fc.constant<Table>('counterparty'), id: fc.integer({ min: 1, max: 3 }), address: fc.integer({ min: 1, max: 2 }), name: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ table: fc.constant<Table>('address'), id: fc.integer({ min: 1, max: 2 }), name: fc.integer({ min: 0, max: 9 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(change, { minLength: 1, maxLength: 14 }),
        fc.integer({ min: 0, max: 255 }), // which shard each row's partition key lands on
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }), // batch sizes, cycled
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), // batch lost in a crash (then redone), cycled
        fc.scheduler(),
        fc.infiniteStream(fc.nat()), // load order
        async (changes, salt, sizes, crashes, s, picks) => {
          const source = new Source();
          const snapshotEvents = source.events.length;
          for (const c of changes) {
            if (c.table === 'staff') source.update('staff', c.id, { department_id: (c as { department: number }).department, last_name: `S${c.id}.${c.name}` });
            else if (c.table === 'counterparty') source.update('counterparty', c.id, { legal_address_id: (c as { address: number }).address, counterparty_legal_name: `C${c.id}.${c.name}` });
            else if (c.table === 'department') source.update('department', c.id, { department_name: `D${c.id}.${c.name}` });
            else source.update('address', c.id, { city: `A${c.id}.${c.name}` });
          }
          const shardOf = (event: ChangeEvent) => ([...partitionKeyOf(event)].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) % 1009, salt) % 2);
          const shards = [0, 1].map((shard) => source.events.filter((e) => shardOf(e) === shard));
          const state = interleaved(new MemoryJoinStateStore(), () => s.schedule(Promise.resolve()));
          const manifests: BatchRows[] = [];
          let batchNo = 0;
          const runShard = async (events: ChangeEvent[]) => {
            for (let i = 0; i < events.length; ) {
              const batch = events.slice(i, i + sizes[batchNo % sizes.length]);
              const crashed = crashes[batchNo % crashes.length] && i >= snapshotEvents;
              batchNo++;
              if (crashed) await processBatch(batch, state); // its manifest never written: redone below
              manifests.push(await processBatch(batch, state));
              i += batch.length;
            }
          };
          await s.waitFor(Promise.all(shards.map(runShard)));
          const warehouse = new Warehouse();
          const pick = picks[Symbol.iterator]();
          while (manifests.length > 0) warehouse.load(manifests.splice(pick.next().value % manifests.length, 1)[0]);
          expect(warehouse.content('staff')).toEqual(source.expected('staff'));
          expect(warehouse.content('counterparty')).toEqual(source.expected('counterparty'));
        },
      ),
      { numRuns: 300 },
    );
  });
});
