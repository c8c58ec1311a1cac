import pg from 'pg';
import type { DimensionName, FactName } from '../../contracts/warehouse-model.js';

/**
 * The star schema as DESIGN.md §5 defines it, computed by plain SQL straight from the totesys
 * tables (never through the processor's transforms), and the same columns read back from the
 * warehouse. Both sides come out as sorted JSON text rows (every value cast to text in Postgres),
 * so a test compares two separate databases value for value.
 */
export type RowSet = string[];

const q = (name: string) => pg.escapeIdentifier(name);

/** Per dimension (except dim_date): the expected SELECT on the source and the columns read on the warehouse. */
const DIMENSION_QUERIES: Record<Exclude<DimensionName, 'dim_date'>, { key: string; source: string; warehouse: string[] }> = {
  dim_staff: {
    key: 'staff_id',
    source: `SELECT s.staff_id::text, s.first_name, s.last_name, d.department_name, d.location, s.email_address
             FROM staff s JOIN department d ON d.department_id = s.department_id`,
    warehouse: ['staff_id', 'first_name', 'last_name', 'department_name', 'location', 'email_address'],
  },
  dim_location: {
    key: 'location_id',
    source: `SELECT address_id::text, address_line_1, address_line_2, district, city, postal_code, country, phone FROM address`,
    warehouse: ['location_id', 'address_line_1', 'address_line_2', 'district', 'city', 'postal_code', 'country', 'phone'],
  },
  dim_currency: {
    key: 'currency_id',
    source: `SELECT currency_id::text, currency_code,
               CASE currency_code WHEN 'GBP' THEN 'Pound Sterling' WHEN 'USD' THEN 'US Dollar' WHEN 'EUR' THEN 'Euro' END
             FROM currency`,
    warehouse: ['currency_id', 'currency_code', 'currency_name'],
  },
  dim_design: {
    key: 'design_id',
    source: `SELECT design_id::text, design_name, file_location, file_name FROM design`,
    warehouse: ['design_id', 'design_name', 'file_location', 'file_name'],
  },
  dim_counterparty: {
    key: 'counterparty_id',
    source: `SELECT c.counterparty_id::text, c.counterparty_legal_name, a.address_line_1, a.address_line_2, a.district, a.city,
               a.postal_code, a.country, a.phone
             FROM counterparty c JOIN address a ON a.address_id = c.legal_address_id`,
    warehouse: [
      'counterparty_id', 'counterparty_legal_name', 'counterparty_legal_address_line_1', 'counterparty_legal_address_line_2',
      'counterparty_legal_district', 'counterparty_legal_city', 'counterparty_legal_postal_code', 'counterparty_legal_country',
      'counterparty_legal_phone_number',
    ],
  },
  dim_transaction: {
    key: 'transaction_id',
    source: `SELECT transaction_id::text, transaction_type::text, sales_order_id::text, purchase_order_id::text FROM transaction`,
    warehouse: ['transaction_id', 'transaction_type', 'sales_order_id', 'purchase_order_id'],
  },
  dim_payment_type: {
    key: 'payment_type_id',
    source: `SELECT payment_type_id::text, payment_type_name::text FROM payment_type`,
    warehouse: ['payment_type_id', 'payment_type_name'],
  },
};

export const COMPARED_DIMENSIONS = Object.keys(DIMENSION_QUERIES) as Exclude<DimensionName, 'dim_date'>[];

/**
 * A fact column read on both sides: its warehouse name and the source expression giving it as text.
 * A plain name is the same column on both sides, cast to text; audit timestamps split into date +
 * time(3), TEXT dates cast to date, numerics as Postgres prints them.
 */
type FactColumn = string | { warehouse: string; source: string };
const renamed = (warehouse: string, sourceColumn: string): FactColumn => ({ warehouse, source: `${sourceColumn}::text` });
const dateOf = (column: string): FactColumn => ({ warehouse: column, source: `${column}::date::text` });
const AUDIT: FactColumn[] = [
  { warehouse: 'created_date', source: 'created_at::date::text' },
  { warehouse: 'created_time', source: 'created_at::time(3)::text' },
  { warehouse: 'last_updated_date', source: 'last_updated::date::text' },
  { warehouse: 'last_updated_time', source: 'last_updated::time(3)::text' },
];

/** A fact's expected SELECT on its source table and the columns read on the warehouse, from one column list. */
function factQuery(sourceTable: string, sourceId: string, columns: FactColumn[]): { sourceTable: string; sourceId: string; source: string; warehouse: string[] } {
  const all = [sourceId, ...AUDIT, ...columns].map((c) => (typeof c === 'string' ? { warehouse: c, source: `${c}::text` } : c));
  return { sourceTable, sourceId, source: `SELECT ${all.map((c) => c.source).join(', ')} FROM ${sourceTable}`, warehouse: all.map((c) => c.warehouse) };
}

const FACT_QUERIES: Record<FactName, { sourceTable: string; sourceId: string; source: string; warehouse: string[] }> = {
  fact_sales_order: factQuery('sales_order', 'sales_order_id', [
    renamed('sales_staff_id', 'staff_id'), 'counterparty_id', 'units_sold', 'unit_price', 'currency_id', 'design_id',
    dateOf('agreed_payment_date'), dateOf('agreed_delivery_date'), 'agreed_delivery_location_id',
  ]),
  fact_purchase_order: factQuery('purchase_order', 'purchase_order_id', [
    'staff_id', 'counterparty_id', 'item_code', 'item_quantity', 'item_unit_price', 'currency_id',
    dateOf('agreed_delivery_date'), dateOf('agreed_payment_date'), 'agreed_delivery_location_id',
  ]),
  fact_payment: factQuery('payment', 'payment_id', ['transaction_id', 'counterparty_id', 'payment_amount', 'currency_id', 'payment_type_id', 'paid', dateOf('payment_date')]),
};

export const FACT_SOURCES: Record<FactName, { sourceTable: string; sourceId: string }> = Object.fromEntries(
  Object.entries(FACT_QUERIES).map(([fact, { sourceTable, sourceId }]) => [fact, { sourceTable, sourceId }]),
) as Record<FactName, { sourceTable: string; sourceId: string }>;

async function rowSet(client: pg.ClientBase, text: string, values: unknown[] = []): Promise<RowSet> {
  const { rows } = await client.query({ text, values, rowMode: 'array' });
  return (rows as unknown[][]).map((row) => JSON.stringify(row)).sort();
}

const selectText = (columns: string[]) => columns.map((c) => `${q(c)}::text`).join(', ');

/** Per table: the source query's rows (the rows the warehouse should hold). */
async function sourceRowSets(source: pg.ClientBase, queries: Record<string, { source: string }>): Promise<Record<string, RowSet>> {
  const out: Record<string, RowSet> = {};
  for (const [table, spec] of Object.entries(queries)) out[table] = await rowSet(source, spec.source);
  return out;
}

/** Per table: the warehouse relation's rows (`relation(table)`, filtered by `where`), in the source query's columns. */
async function warehouseRowSets(warehouse: pg.ClientBase, schema: string, queries: Record<string, { warehouse: string[] }>, relation: (table: string) => string, where = ''): Promise<Record<string, RowSet>> {
  const out: Record<string, RowSet> = {};
  for (const [table, spec] of Object.entries(queries)) {
    out[table] = await rowSet(warehouse, `SELECT ${selectText(spec.warehouse)} FROM ${q(schema)}.${q(relation(table))}${where}`);
  }
  return out;
}

/** dimension → rows the warehouse should hold (current source rows joined as §5 says). */
export const expectedDimensions = (source: pg.ClientBase) => sourceRowSets(source, DIMENSION_QUERIES);

/** dimension → its live (not is_deleted) rows in the warehouse, same columns as expectedDimensions. */
export const warehouseDimensions = (warehouse: pg.ClientBase, schema: string) => warehouseRowSets(warehouse, schema, DIMENSION_QUERIES, (dim) => dim, ' WHERE NOT is_deleted');

/** Keys of the dimension rows flagged is_deleted. */
export async function deletedDimensionKeys(warehouse: pg.ClientBase, schema: string, dim: Exclude<DimensionName, 'dim_date'>): Promise<number[]> {
  const key = DIMENSION_QUERIES[dim].key;
  const { rows } = await warehouse.query(`SELECT ${q(key)} AS id FROM ${q(schema)}.${q(dim)} WHERE is_deleted ORDER BY 1`);
  return rows.map((r) => r.id as number);
}

/** fact → the current source rows in the fact's shape. */
export const expectedCurrentFacts = (source: pg.ClientBase) => sourceRowSets(source, FACT_QUERIES);

/** fact → rows of `<fact>_current` (latest non-deleted version per source id). */
export const warehouseCurrentFacts = (warehouse: pg.ClientBase, schema: string) => warehouseRowSets(warehouse, schema, FACT_QUERIES, (fact) => `${fact}_current`);

/**
 * Expected dim_date rows for `dates`, computed by Postgres's calendar (ISO day of week via
 * extract(isodow), names via to_char with FM patterns, which ignore lc_time) — not by the
 * processor's JavaScript calendar.
 */
export async function expectedDimDate(client: pg.ClientBase, dates: string[]): Promise<RowSet> {
  return rowSet(
    client,
    `SELECT d::text, extract(year FROM d)::int::text, extract(month FROM d)::int::text, extract(day FROM d)::int::text,
       extract(isodow FROM d)::int::text, to_char(d, 'FMDay'), to_char(d, 'FMMonth'), extract(quarter FROM d)::int::text
     FROM unnest($1::date[]) AS d`,
    [dates],
  );
}

export async function warehouseDimDate(warehouse: pg.ClientBase, schema: string): Promise<RowSet> {
  return rowSet(
    warehouse,
    `SELECT ${selectText(['date_id', 'year', 'month', 'day', 'day_of_week', 'day_name', 'month_name', 'quarter'])} FROM ${q(schema)}.dim_date`,
  );
}

/** Every date any fact version references (all date foreign-key columns of all three facts). */
export async function datesReferencedByFacts(warehouse: pg.ClientBase, schema: string): Promise<string[]> {
  const s = q(schema);
  const { rows } = await warehouse.query(
    `SELECT DISTINCT d::text AS d FROM (
       SELECT unnest(ARRAY[created_date, last_updated_date, agreed_payment_date, agreed_delivery_date]) AS d FROM ${s}.fact_sales_order
       UNION ALL SELECT unnest(ARRAY[created_date, last_updated_date, agreed_payment_date, agreed_delivery_date]) FROM ${s}.fact_purchase_order
       UNION ALL SELECT unnest(ARRAY[created_date, last_updated_date, payment_date]) FROM ${s}.fact_payment
     ) x ORDER BY 1`,
  );
  return rows.map((r) => r.d as string);
}

/** What differs between two row sets (a few examples each side, so a failure message stays readable). */
export function diffRowSets(expected: RowSet, actual: RowSet, examples = 5): { expected: number; actual: number; missing: string[]; unexpected: string[] } {
  const want = new Map<string, number>();
  for (const row of expected) want.set(row, (want.get(row) ?? 0) + 1);
  const unexpected: string[] = [];
  for (const row of actual) {
    const n = want.get(row) ?? 0;
    if (n > 0) want.set(row, n - 1);
    else unexpected.push(row);
  }
  const missing = [...want].flatMap(([row, n]) => Array<string>(n).fill(row));
  return { expected: expected.length, actual: actual.length, missing: missing.slice(0, examples), unexpected: unexpected.slice(0, examples) };
}
