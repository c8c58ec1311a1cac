import { withClient } from './postgres.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './cli.js';
import { columnValue } from '../../contracts/change-event.js';
import { SOURCE_TABLES } from '../../contracts/source-tables.js';

/** Creates the totesys schema and a small set of parent rows (fixture factory for capture tests). */
export async function createTotesysSchema(url: string): Promise<void> {
  const ddl = await fs.readFile(path.join(REPO_ROOT, 'totesys/schema.sql'), 'utf8');
  await withClient(url, (c) => c.query(ddl));
}

export async function seedParents(url: string): Promise<void> {
  await withClient(url, async (c) => {
    await c.query(`INSERT INTO address (address_line_1, city, postal_code, country, phone) VALUES ('1 Road', 'Leeds', 'LS1', 'UK', '0113')`);
    await c.query(`INSERT INTO counterparty (counterparty_legal_name, legal_address_id) VALUES ('Acme', 1)`);
    await c.query(`INSERT INTO currency (currency_code) VALUES ('GBP'), ('USD'), ('EUR')`);
    await c.query(`INSERT INTO department (department_name, location) VALUES ('Sales', 'Leeds')`);
    await c.query(`INSERT INTO design (design_name, file_location, file_name) VALUES ('Steel', '/usr', 'steel.json')`);
    await c.query(`INSERT INTO payment_type (payment_type_name) VALUES ('SALES_RECEIPT'), ('PURCHASE_PAYMENT')`);
    await c.query(`INSERT INTO staff (first_name, last_name, department_id, email_address) VALUES ('Ann', 'Lee', 1, 'ann@example.com')`);
  });
}

/** Inserts `count` sales orders in one statement (design/staff/counterparty/currency/address 1). */
export const INSERT_SALES_ORDERS = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
  agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id)
  SELECT 1, 1, 1, g % 1000 + 1, (g % 10000) / 100.0 + 1, 1 + g % 3, '2024-01-02', '2024-01-03', 1 FROM generate_series(1, $1::int) g`;


/** The tables' current rows mapped like capture maps them (`col::text` → columnValue), keyed by pk. */
export async function readSourceState(url: string): Promise<Map<string, Map<string, Record<string, unknown>>>> {
  return withClient(url, async (c) => {
    const state = new Map<string, Map<string, Record<string, unknown>>>();
    for (const table of SOURCE_TABLES) {
      const { rows: cols } = await c.query(
        `SELECT attname, atttypid::int AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        [table],
      );
      const { rows } = await c.query({ text: `SELECT ${cols.map((x) => `"${x.attname}"::text`).join(', ')} FROM "${table}"`, rowMode: 'array' });
      const map = new Map<string, Record<string, unknown>>();
      for (const values of rows as (string | null)[][]) {
        const row: Record<string, unknown> = {};
        cols.forEach((col, i) => (row[col.attname] = columnValue(col.t, values[i])));
        map.set(String(row[cols[0].attname] ?? values[0]), row);
      }
      if (map.size) state.set(table, map);
    }
    return state;
  });
}
