import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySourceSchema, checkSourceSchema, describeSourceSchema } from '../../totesys/source-schema.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

/**
 * The expected totesys columns, written out by hand: names and order from the real pg_dump of
 * 2024-02-23, types from DESIGN.md §5 (the dump's DDL is loosened: no keys, varchar ids). Kept
 * independent of totesys/source-columns.ts on purpose, so a wrong constant there cannot hide here.
 */
const TS = 'timestamp(3) without time zone';
const VC = 'character varying';
type Col = [name: string, type: string, nullable: boolean];
const EXPECTED: Record<string, Col[]> = {
  address: [['address_id', 'integer', false], ['address_line_1', VC, false], ['address_line_2', VC, true], ['district', VC, true], ['city', VC, false], ['postal_code', VC, false], ['country', VC, false], ['phone', VC, false], ['created_at', TS, false], ['last_updated', TS, false]],
  counterparty: [['counterparty_id', 'integer', false], ['counterparty_legal_name', VC, false], ['legal_address_id', 'integer', false], ['commercial_contact', VC, true], ['delivery_contact', VC, true], ['created_at', TS, false], ['last_updated', TS, false]],
  currency: [['currency_id', 'integer', false], ['currency_code', 'character varying(3)', false], ['created_at', TS, false], ['last_updated', TS, false]],
  department: [['department_id', 'integer', false], ['department_name', VC, false], ['location', VC, true], ['manager', VC, true], ['created_at', TS, false], ['last_updated', TS, false]],
  design: [['design_id', 'integer', false], ['created_at', TS, false], ['last_updated', TS, false], ['design_name', VC, false], ['file_location', VC, false], ['file_name', VC, false]],
  payment: [['payment_id', 'integer', false], ['created_at', TS, false], ['last_updated', TS, false], ['transaction_id', 'integer', false], ['counterparty_id', 'integer', false], ['payment_amount', 'numeric(10,2)', false], ['currency_id', 'integer', false], ['payment_type_id', 'integer', false], ['paid', 'boolean', false], ['payment_date', 'text', false], ['company_ac_number', 'integer', false], ['counterparty_ac_number', 'integer', false]],
  payment_type: [['payment_type_id', 'integer', false], ['payment_type_name', 'payment_type_name', false], ['created_at', TS, false], ['last_updated', TS, false]],
  purchase_order: [['purchase_order_id', 'integer', false], ['created_at', TS, false], ['last_updated', TS, false], ['staff_id', 'integer', false], ['counterparty_id', 'integer', false], ['item_code', VC, false], ['item_quantity', 'integer', false], ['item_unit_price', 'numeric(10,2)', false], ['currency_id', 'integer', false], ['agreed_delivery_date', 'text', false], ['agreed_payment_date', 'text', false], ['agreed_delivery_location_id', 'integer', false]],
  sales_order: [['sales_order_id', 'integer', false], ['created_at', TS, false], ['last_updated', TS, false], ['design_id', 'integer', false], ['staff_id', 'integer', false], ['counterparty_id', 'integer', false], ['units_sold', 'integer', false], ['unit_price', 'numeric(10,2)', false], ['currency_id', 'integer', false], ['agreed_delivery_date', 'text', false], ['agreed_payment_date', 'text', false], ['agreed_delivery_location_id', 'integer', false]],
  staff: [['staff_id', 'integer', false], ['first_name', VC, false], ['last_name', VC, false], ['department_id', 'integer', false], ['email_address', VC, false], ['created_at', TS, false], ['last_updated', TS, false]],
  transaction: [['transaction_id', 'integer', false], ['transaction_type', 'transaction_type', false], ['sales_order_id', 'integer', true], ['purchase_order_id', 'integer', true], ['created_at', TS, false], ['last_updated', TS, false]],
  _prisma_migrations: [['id', 'character varying(36)', false], ['checksum', 'character varying(64)', false], ['finished_at', 'timestamp with time zone', true], ['migration_name', 'character varying(255)', false], ['logs', 'text', true], ['rolled_back_at', 'timestamp with time zone', true], ['started_at', 'timestamp with time zone', false], ['applied_steps_count', 'integer', false]],
};

describe('totesys source schema', () => {
  let db: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase('totesys schema');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('reports every table missing on an empty database', async () => {
    const problems = await checkSourceSchema(client);
    expect(problems).toHaveLength(11);
    expect(problems.every((p) => p.severity === 'error' && /is missing/.test(p.message))).toBe(true);
  });

  it('creates the real totesys columns, column by column, and is idempotent', async () => {
    await applySourceSchema(client);
    await applySourceSchema(client); // second run must be a no-op, not an error
    const described = await describeSourceSchema(client);
    expect(Object.keys(described).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [table, columns] of Object.entries(EXPECTED)) {
      const actual = described[table].map((c) => [c.name, c.type, c.nullable]);
      expect(actual, table).toEqual(columns);
      expect(described[table].map((c) => c.position)).toEqual(columns.map((_, i) => i + 1));
    }
    const { rows } = await client.query(`SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname ORDER BY t.typname`);
    expect(rows).toEqual([
      { typname: 'payment_type_name', labels: ['SALES_RECEIPT', 'SALES_REFUND', 'PURCHASE_PAYMENT', 'PURCHASE_REFUND'] },
      { typname: 'transaction_type', labels: ['SALE', 'PURCHASE'] },
    ]);
    expect(await checkSourceSchema(client)).toEqual([]);
  });

  it('flags missing columns as errors and loosened types as warnings', async () => {
    await client.query('BEGIN');
    try {
      await client.query('ALTER TABLE staff DROP COLUMN email_address');
      await client.query('ALTER TABLE design ALTER COLUMN file_location DROP NOT NULL');
      await client.query('ALTER TABLE payment ALTER COLUMN payment_amount TYPE numeric');
      const problems = await checkSourceSchema(client);
      expect(problems.map((p) => [p.table, p.column, p.severity])).toEqual([
        ['design', 'file_location', 'warning'],
        ['staff', 'email_address', 'error'],
        ['payment', 'payment_amount', 'warning'],
      ]);
    } finally {
      await client.query('ROLLBACK');
    }
  });
});
