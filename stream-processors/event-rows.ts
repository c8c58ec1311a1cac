import type { ChangeEvent } from '../core/change-event.js';
import { isSourceTable } from '../core/source-tables.js';
import type { Logger } from '../core/logger.js';
import type { FactName, WarehouseTable } from '../core/warehouse-model.js';
import type { WarehouseRow } from '../core/warehouse-row.js';
import type { JoinStateStore } from './state/join-state-store.js';
import { referencedId } from './state/join-state-store.js';
import { dimCounterpartyRow } from './transform/dim-counterparty.js';
import { dimCurrencyRow } from './transform/dim-currency.js';
import { dimDateRow, referencedDates } from './transform/dim-date.js';
import { dimDesignRow } from './transform/dim-design.js';
import { dimLocationRow } from './transform/dim-location.js';
import { dimPaymentTypeRow } from './transform/dim-payment-type.js';
import { dimStaffRow } from './transform/dim-staff.js';
import { dimTransactionRow } from './transform/dim-transaction.js';
import { factPaymentRow } from './transform/fact-payment.js';
import { factPurchaseOrderRow } from './transform/fact-purchase-order.js';
import { factSalesOrderRow } from './transform/fact-sales-order.js';
import { optionalText, requiredInt, SourceValueError, sourceRowOf } from './transform/source-values.js';
import { versionedRowOf } from './transform/versioned-row.js';

/** One warehouse row produced by a change event. */
export interface EmittedRow {
  table: WarehouseTable;
  row: WarehouseRow;
}

export interface EventRowsContext {
  state: JoinStateStore;
  logger: Logger;
}

function factWithDates(table: FactName, row: WarehouseRow): EmittedRow[] {
  return [{ table, row }, ...referencedDates(table, row).map((date) => ({ table: 'dim_date' as const, row: dimDateRow(date) }))];
}

/**
 * The warehouse rows one change event yields. Pure per table except the joined dimensions, which
 * follow DESIGN.md §5: validate the event, write its own side to the state FIRST, then read the
 * other side (strongly consistent), so of two racing changes on different shards at least one sees
 * both and emits the complete row. Validation happens before the state write, so the state only
 * ever holds rows that build valid dimension rows. Throws SourceValueError (permanent) for bad input.
 */
export async function rowsForEvent(event: ChangeEvent, ctx: EventRowsContext): Promise<EmittedRow[]> {
  if (!isSourceTable(event.table)) throw new SourceValueError(`unknown source table ${JSON.stringify(event.table)}`, String(event.table), '*', event.id);
  switch (event.table) {
    case 'sales_order':
      return factWithDates('fact_sales_order', factSalesOrderRow(event));
    case 'purchase_order':
      return factWithDates('fact_purchase_order', factPurchaseOrderRow(event));
    case 'payment':
      return factWithDates('fact_payment', factPaymentRow(event));
    case 'currency':
      return [{ table: 'dim_currency', row: dimCurrencyRow(event, (code) => ctx.logger.warn('currency code missing from the ISO 4217 table', { code, eventId: event.id })) }];
    case 'design':
      return [{ table: 'dim_design', row: dimDesignRow(event) }];
    case 'transaction':
      return [{ table: 'dim_transaction', row: dimTransactionRow(event) }];
    case 'payment_type':
      return [{ table: 'dim_payment_type', row: dimPaymentTypeRow(event) }];
    case 'staff':
      return staffChanged(event, ctx.state);
    case 'department':
      return departmentChanged(event, ctx.state);
    case 'counterparty':
      return counterpartyChanged(event, ctx.state);
    case 'address':
      return addressChanged(event, ctx.state);
  }
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
