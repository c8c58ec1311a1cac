import type { ChangeEvent } from '../contracts/change-event.js';
import { isSourceTable, type SourceTable } from '../contracts/source-tables.js';
import type { Logger } from '../platform/logger.js';
import type { FactName, WarehouseTable } from '../contracts/warehouse-model.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import type { JoinStateStore } from './state/join-state-store.js';
import { referencedId } from './state/join-state-store.js';
import { dimCounterpartyRow } from './transform/dim-counterparty.js';
import { dimCurrencyRow } from './transform/dim-currency.js';
import { dimDesignRow } from './transform/dim-design.js';
import { dimLocationRow } from './transform/dim-location.js';
import { dimPaymentTypeRow } from './transform/dim-payment-type.js';
import { dimStaffRow } from './transform/dim-staff.js';
import { dimTransactionRow } from './transform/dim-transaction.js';
import { factPaymentRow } from './transform/fact-payment.js';
import { factPurchaseOrderRow } from './transform/fact-purchase-order.js';
import { factSalesOrderRow } from './transform/fact-sales-order.js';
import { optionalText, requiredInt, sourceRowOf, UnknownSourceTableError } from './transform/source-values.js';
import { type VersionedRow, versionedRowOf } from './transform/versioned-row.js';
import { type KeyChange, splitKeyChange } from './transform/key-change.js';

/** One warehouse row produced by a change event. */
export interface EmittedRow {
  table: WarehouseTable;
  row: WarehouseRow;
}

export interface EventRowsContext {
  state: JoinStateStore;
  logger: Logger;
}

/**
 * Where the rows of an event go: processEvents adds them straight to its BatchRows (no per-event
 * arrays or wrapper objects).
 */
export interface EventRowSink {
  /** A fact row and, for every date it references, that date's dim_date row. */
  addFact(table: FactName, row: WarehouseRow): void;
  addDimension(table: WarehouseTable, row: WarehouseRow): void;
}

/**
 * Adds the warehouse rows one change event yields to `sink`: all of them, or none when it throws.
 * Pure per table except the joined dimensions, which follow docs/architecture.md#star-schema-and-joined-dimensions: validate the event, write
 * its own side to the state FIRST, then read the other side (strongly consistent), so of two racing
 * changes on different shards at least one sees both and emits the complete row. Validation happens
 * before the state write, so the state only ever holds rows that build valid dimension rows.
 * Throws SourceValueError (bad input) for a value that breaks the contract. Only the joined dimensions touch the state and
 * return a promise; every other event is handled synchronously (no promise, no microtask turn: most
 * events are facts and their per-event cost is what bounds replay throughput).
 */
export function addRowsForEvent(event: ChangeEvent, ctx: EventRowsContext, sink: EventRowSink): Promise<void> | undefined {
  if (!isSourceTable(event.table)) throw new UnknownSourceTableError(String(event.table), event.id);
  const keyChange = splitKeyChange(event);
  if (keyChange) return addKeyChangeRows(keyChange, ctx, sink);
  return ADD_ROWS[event.table](event, ctx, sink);
}

/** How the events of one source table become rows (synchronously, except the joined dimensions). */
type AddRows = (event: ChangeEvent, ctx: EventRowsContext, sink: EventRowSink) => Promise<void> | undefined;

const fact =
  (table: FactName, row: (event: ChangeEvent) => WarehouseRow): AddRows =>
  (event, _ctx, sink) => {
    sink.addFact(table, row(event));
    return undefined;
  };
const dimension =
  (table: WarehouseTable, row: (event: ChangeEvent) => WarehouseRow): AddRows =>
  (event, _ctx, sink) => {
    sink.addDimension(table, row(event));
    return undefined;
  };
const joined =
  (changed: (event: ChangeEvent, state: JoinStateStore) => Promise<EmittedRow[]>): AddRows =>
  (event, ctx, sink) =>
    addAll(changed(event, ctx.state), sink);

const ADD_ROWS: Record<SourceTable, AddRows> = {
  sales_order: fact('fact_sales_order', factSalesOrderRow),
  purchase_order: fact('fact_purchase_order', factPurchaseOrderRow),
  payment: fact('fact_payment', factPaymentRow),
  currency: (event, ctx, sink) => {
    sink.addDimension('dim_currency', dimCurrencyRow(event, (code) => ctx.logger.warn('currency code missing from the ISO 4217 table', { code, eventId: event.id })));
    return undefined;
  },
  design: dimension('dim_design', dimDesignRow),
  transaction: dimension('dim_transaction', dimTransactionRow),
  payment_type: dimension('dim_payment_type', dimPaymentTypeRow),
  staff: joined((event, state) => childChanged(STAFF_JOIN, event, state)),
  department: joined(departmentChanged),
  counterparty: joined((event, state) => childChanged(COUNTERPARTY_JOIN, event, state)),
  address: joined(addressChanged),
};

/**
 * A primary-key change (transform/key-change.ts): the old key's delete and the new key's create,
 * all rows or none. The new key goes first, so its image is validated before the old key's
 * tombstone is written to the join state.
 */
function addKeyChangeRows({ deleteOld, createNew }: KeyChange, ctx: EventRowsContext, sink: EventRowSink): Promise<void> | undefined {
  const created = new BufferedRows();
  const deleted = new BufferedRows();
  const flush = () => {
    deleted.addTo(sink);
    created.addTo(sink);
  };
  const creating = addRowsForEvent(createNew, ctx, created);
  if (!creating) {
    const deleting = addRowsForEvent(deleteOld, ctx, deleted);
    if (deleting) return deleting.then(flush);
    flush();
    return;
  }
  return creating.then(() => addRowsForEvent(deleteOld, ctx, deleted)).then(flush);
}

/** Rows held back until every row of an event is built. */
class BufferedRows implements EventRowSink {
  private readonly rows: { fact: boolean; table: WarehouseTable; row: WarehouseRow }[] = [];
  addFact(table: FactName, row: WarehouseRow): void {
    this.rows.push({ fact: true, table, row });
  }
  addDimension(table: WarehouseTable, row: WarehouseRow): void {
    this.rows.push({ fact: false, table, row });
  }
  addTo(sink: EventRowSink): void {
    for (const { fact, table, row } of this.rows) {
      if (fact) sink.addFact(table as FactName, row);
      else sink.addDimension(table, row);
    }
  }
}

/** Adds a joined dimension's rows once all of them are built. */
async function addAll(rows: Promise<EmittedRow[]>, sink: EventRowSink): Promise<void> {
  for (const { table, row } of await rows) sink.addDimension(table, row);
}

/**
 * A joined dimension: each child row (staff, counterparty) joined with its parent (department,
 * address). `row` builds the dimension row; with a null parent it validates the child's image.
 */
interface Join {
  child: 'staff' | 'counterparty';
  parent: 'department' | 'address';
  table: 'dim_staff' | 'dim_counterparty';
  /** The dimension's key column, the child's id. */
  key: 'staff_id' | 'counterparty_id';
  row(child: VersionedRow, parent: VersionedRow | null): WarehouseRow;
  /** The children indexed under the parent: possibly stale, each is checked against its stored reference. */
  childIdsOf(state: JoinStateStore, parentId: number): Promise<number[]>;
}

const STAFF_JOIN: Join = { child: 'staff', parent: 'department', table: 'dim_staff', key: 'staff_id', row: dimStaffRow, childIdsOf: (state, id) => state.staffIdsOfDepartment(id) };
const COUNTERPARTY_JOIN: Join = { child: 'counterparty', parent: 'address', table: 'dim_counterparty', key: 'counterparty_id', row: dimCounterpartyRow, childIdsOf: (state, id) => state.counterpartyIdsOfAddress(id) };

async function childChanged(join: Join, event: ChangeEvent, state: JoinStateStore): Promise<EmittedRow[]> {
  const incoming = versionedRowOf(event);
  const childId = join.row(incoming, null)[join.key] as number; // validates the image
  const stored = await state.put(join.child, childId, incoming);
  const parentId = referencedId(join.child, stored);
  const parent = parentId === null ? null : await state.get(join.parent, parentId);
  return [{ table: join.table, row: join.row(stored, parent) }];
}

/** The parent stored, then its own rows (`own`) and every live child that still references it, joined with it again. */
async function parentChanged(join: Join, parentId: number, incoming: VersionedRow, state: JoinStateStore, own: (stored: VersionedRow) => EmittedRow[]): Promise<EmittedRow[]> {
  const stored = await state.put(join.parent, parentId, incoming);
  const rows = own(stored);
  for (const childId of await join.childIdsOf(state, parentId)) {
    const child = await state.get(join.child, childId);
    // Stale index entries (children that moved) and deleted children are not re-emitted.
    if (!child || child.deleted || referencedId(join.child, child) !== parentId) continue;
    rows.push({ table: join.table, row: join.row(child, stored) });
  }
  return rows;
}

async function departmentChanged(event: ChangeEvent, state: JoinStateStore): Promise<EmittedRow[]> {
  const incoming = versionedRowOf(event);
  const src = sourceRowOf(event, incoming.row);
  const departmentId = requiredInt(src, 'department_id');
  optionalText(src, 'department_name');
  optionalText(src, 'location');
  return parentChanged(STAFF_JOIN, departmentId, incoming, state, () => []);
}

async function addressChanged(event: ChangeEvent, state: JoinStateStore): Promise<EmittedRow[]> {
  const incoming = versionedRowOf(event);
  const addressId = dimLocationRow(incoming).location_id as number;
  return parentChanged(COUNTERPARTY_JOIN, addressId, incoming, state, (stored) => [{ table: 'dim_location', row: dimLocationRow(stored) }]);
}
