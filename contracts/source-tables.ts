/**
 * The 11 totesys tables the pipeline captures, in foreign-key order (parents first), with their
 * single-column primary keys. `_prisma_migrations` lives in the same database and is never captured.
 */
export const SOURCE_TABLES = [
  'address',
  'counterparty',
  'currency',
  'department',
  'design',
  'payment_type',
  'staff',
  'purchase_order',
  'sales_order',
  'transaction',
  'payment',
] as const;

export type SourceTable = (typeof SOURCE_TABLES)[number];

export const PRIMARY_KEYS: Readonly<Record<SourceTable, string>> = Object.freeze({
  address: 'address_id',
  counterparty: 'counterparty_id',
  currency: 'currency_id',
  department: 'department_id',
  design: 'design_id',
  payment_type: 'payment_type_id',
  staff: 'staff_id',
  purchase_order: 'purchase_order_id',
  sales_order: 'sales_order_id',
  transaction: 'transaction_id',
  payment: 'payment_id',
});

/** Tables that live in the totesys database but are not business data. */
export const IGNORED_SOURCE_TABLES = ['_prisma_migrations'] as const;

const SOURCE_TABLE_SET: ReadonlySet<string> = new Set(SOURCE_TABLES);

export function isSourceTable(name: string): name is SourceTable {
  return SOURCE_TABLE_SET.has(name);
}
