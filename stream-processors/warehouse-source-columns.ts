import type { ChangeEvent } from '../contracts/change-event.js';
import { isSourceTable, type SourceTable } from '../contracts/source-tables.js';
import { SourceValueError } from './transform/source-values.js';

/**
 * The source columns the warehouse is built from, per table: exactly what the transforms
 * (./transform/*, ./event-rows.ts) read. Columns beyond these (a column added in the source) stay
 * in the change event and so in the raw archive, and the warehouse ignores them. A unit test
 * (stream-processors-source-columns) proves the list is complete: a row holding only these columns
 * gives the same warehouse rows as the full row.
 */
export const WAREHOUSE_SOURCE_COLUMNS: Readonly<Record<SourceTable, readonly string[]>> = Object.freeze({
  address: ['address_id', 'address_line_1', 'address_line_2', 'district', 'city', 'postal_code', 'country', 'phone'],
  counterparty: ['counterparty_id', 'counterparty_legal_name', 'legal_address_id'],
  currency: ['currency_id', 'currency_code'],
  department: ['department_id', 'department_name', 'location'],
  design: ['design_id', 'design_name', 'file_location', 'file_name'],
  payment_type: ['payment_type_id', 'payment_type_name'],
  staff: ['staff_id', 'first_name', 'last_name', 'department_id', 'email_address'],
  purchase_order: [
    'purchase_order_id', 'created_at', 'last_updated', 'staff_id', 'counterparty_id', 'item_code', 'item_quantity', 'item_unit_price',
    'currency_id', 'agreed_delivery_date', 'agreed_payment_date', 'agreed_delivery_location_id',
  ],
  sales_order: [
    'sales_order_id', 'created_at', 'last_updated', 'design_id', 'staff_id', 'counterparty_id', 'units_sold', 'unit_price', 'currency_id',
    'agreed_delivery_date', 'agreed_payment_date', 'agreed_delivery_location_id',
  ],
  transaction: ['transaction_id', 'transaction_type', 'sales_order_id', 'purchase_order_id'],
  payment: ['payment_id', 'created_at', 'last_updated', 'transaction_id', 'counterparty_id', 'payment_amount', 'currency_id', 'payment_type_id', 'paid', 'payment_date'],
});

/** A row image lacks a column the warehouse needs: the source dropped or renamed it (bad input, quarantined). */
export class MissingSourceColumnError extends SourceValueError {}

/**
 * Throws MissingSourceColumnError when the row image an insert, update or snapshot read carries lacks
 * a column the warehouse needs. Without this a dropped or renamed nullable column (address.city,
 * design.design_name) would silently become NULL in the warehouse: the transforms read a missing
 * optional value as null. Deletes are not checked: their row becomes a tombstone, and with the
 * default replica identity their `before` holds the key alone.
 * Not sent != missing: an unchanged TOASTed value without REPLICA IDENTITY FULL is left out of
 * `after` by capture too; with the default (FULL) capture fills it from the old row.
 */
export function assertWarehouseColumns(event: ChangeEvent): void {
  if (event.op === 'd' || !isSourceTable(event.table) || !event.after) return;
  const row = event.after;
  let missing: string[] | undefined;
  for (const column of WAREHOUSE_SOURCE_COLUMNS[event.table]) if (!(column in row)) (missing ??= []).push(column);
  if (!missing) return;
  const others = missing.length > 1 ? ` (also missing: ${missing.slice(1).join(', ')})` : '';
  throw new MissingSourceColumnError(
    `${event.table}.${missing[0]}: column missing from the source row; it was dropped or renamed in the source and the warehouse needs it${others}`,
    event.table,
    missing[0],
    event.id,
  );
}
