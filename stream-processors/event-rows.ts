import type { ChangeEvent } from '../contracts/change-event.js';
import { isSourceTable } from '../contracts/source-tables.js';
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
import { versionedRowOf } from './transform/versioned-row.js';
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
  switch (event.table) {
    case 'sales_order':
      sink.addFact('fact_sales_order', factSalesOrderRow(event));
      return;
    case 'purchase_order':
      sink.addFact('fact_purchase_order', factPurchaseOrderRow(event));
      return;
    case 'payment':
      sink.addFact('fact_payment', factPaymentRow(event));
      return;
    case 'currency':
      sink.addDimension('dim_currency', dimCurrencyRow(event, (code) => ctx.logger.warn('currency code missing from the ISO 4217 table', { code, eventId: event.id })));
      return;
    case 'design':
      sink.addDimension('dim_design', dimDesignRow(event));
      return;
    case 'transaction':
      sink.addDimension('dim_transaction', dimTransactionRow(event));
      return;
    case 'payment_type':
      sink.addDimension('dim_payment_type', dimPaymentTypeRow(event));
      return;
    case 'staff':
      return addAll(staffChanged(event, ctx.state), sink);
    case 'department':
      return addAll(departmentChanged(event, ctx.state), sink);
    case 'counterparty':
      return addAll(counterpartyChanged(event, ctx.state), sink);
    case 'address':
      return addAll(addressChanged(event, ctx.state), sink);
  }
}

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

async function staffChanged(event: ChangeEvent, state: JoinStateStore): Promise<EmittedRow[]> {
  const incoming = versionedRowOf(event);
  const staffId = dimStaffRow(incoming, null).staff_id as number; // validates the image
  const stored = await state.put('staff', staffId, incoming);
  const departmentId = referencedId('staff', stored);
  const department = departmentId === null ? null : await state.get('department', departmentId);
  return [{ table: 'dim_staff', row: dimStaffRow(stored, department) }];
}

async function departmentChanged(event: ChangeEvent, state: JoinStateStore): Promise<EmittedRow[]> {
  const incoming = versionedRowOf(event);
  const src = sourceRowOf(event, incoming.row);
  const departmentId = requiredInt(src, 'department_id');
  optionalText(src, 'department_name');
  optionalText(src, 'location');
  const stored = await state.put('department', departmentId, incoming);
  const rows: EmittedRow[] = [];
  for (const staffId of await state.staffIdsOfDepartment(departmentId)) {
    const staff = await state.get('staff', staffId);
    // Stale index entries (staff who moved) and deleted staff are not re-emitted.
    if (!staff || staff.deleted || referencedId('staff', staff) !== departmentId) continue;
    rows.push({ table: 'dim_staff', row: dimStaffRow(staff, stored) });
  }
  return rows;
}

async function counterpartyChanged(event: ChangeEvent, state: JoinStateStore): Promise<EmittedRow[]> {
  const incoming = versionedRowOf(event);
  const counterpartyId = dimCounterpartyRow(incoming, null).counterparty_id as number;
  const stored = await state.put('counterparty', counterpartyId, incoming);
  const addressId = referencedId('counterparty', stored);
  const address = addressId === null ? null : await state.get('address', addressId);
  return [{ table: 'dim_counterparty', row: dimCounterpartyRow(stored, address) }];
}

async function addressChanged(event: ChangeEvent, state: JoinStateStore): Promise<EmittedRow[]> {
  const incoming = versionedRowOf(event);
  const addressId = dimLocationRow(incoming).location_id as number;
  const stored = await state.put('address', addressId, incoming);
  const rows: EmittedRow[] = [{ table: 'dim_location', row: dimLocationRow(stored) }];
  for (const counterpartyId of await state.counterpartyIdsOfAddress(addressId)) {
    const counterparty = await state.get('counterparty', counterpartyId);
    if (!counterparty || counterparty.deleted || referencedId('counterparty', counterparty) !== addressId) continue;
    rows.push({ table: 'dim_counterparty', row: dimCounterpartyRow(counterparty, stored) });
  }
  return rows;
}
