import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCE_TABLES, PRIMARY_KEYS } from '../../contracts/source-tables.js';
import { seedTotesys, type SeedProgress, type SeedSummary } from '../../totesys/generator/seed-totesys.js';
import { AlreadySeededError } from '../../totesys/generator/seed-errors.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';

const SEED = 20241115;


/** One md5 per table over every row's text form, in primary-key order. */
async function tableChecksums(url: string): Promise<Record<string, string>> {
  return withClient(url, async (c) => {
    const sums: Record<string, string> = {};
    for (const table of SOURCE_TABLES) {
      const t = c.escapeIdentifier(table);
      const { rows } = await c.query(`SELECT md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x.${c.escapeIdentifier(PRIMARY_KEYS[table])}), '')) AS sum FROM ${t} AS x`);
      sums[table] = rows[0].sum;
    }
    return sums;
  });
}

async function one<T = Record<string, unknown>>(c: pg.Client, sql: string): Promise<T> {
  return (await c.query(sql)).rows[0] as T;
}

describe('totesys generator at scale 1', () => {
  const dbs: TestDatabase[] = [];
  let main: TestDatabase;
  let summary: SeedSummary;
  const progress: SeedProgress[] = [];

  beforeAll(async () => {
    main = await createTestDatabase('totesys gen main');
    dbs.push(main);
    summary = await seedTotesys(main.url, { scale: 1, seed: SEED, onProgress: (p) => progress.push(p) });
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it('reproduces the real row counts', async () => {
    const c = summary.rowCounts;
    expect({ address: c.address, counterparty: c.counterparty, currency: c.currency, department: c.department, staff: c.staff, payment_type: c.payment_type })
      .toEqual({ address: 30, counterparty: 20, currency: 3, department: 8, staff: 20, payment_type: 4 });
    expect(c.design).toBeGreaterThanOrEqual(440);
    expect(c.design).toBeLessThanOrEqual(500);
    expect(Math.abs(c.sales_order - 11188) / 11188).toBeLessThanOrEqual(0.05);
    expect(Math.abs(c.purchase_order - 4650) / 4650).toBeLessThanOrEqual(0.05);
    expect(c.transaction).toBe(c.sales_order + c.purchase_order);
    expect(c.payment).toBe(c.transaction);
    expect(summary.totalRows).toBe(Object.values(c).reduce((a, b) => a + b, 0));
    await withClient(main.url, async (db) => {
      for (const table of SOURCE_TABLES) {
        const { n } = await one<{ n: number }>(db, `SELECT count(*)::int AS n FROM ${db.escapeIdentifier(table)}`);
        expect(n, table).toBe(c[table]);
      }
    });
    // Progress ends with every table complete.
    for (const table of SOURCE_TABLES) {
      const last = progress.filter((p) => p.table === table).at(-1);
      expect(last, table).toEqual({ table, rows: c[table], totalRows: c[table] });
    }
  });

  it('keeps the real reference values', async () => {
    await withClient(main.url, async (db) => {
      expect((await db.query('SELECT currency_code FROM currency ORDER BY currency_id')).rows.map((r) => r.currency_code)).toEqual(['GBP', 'USD', 'EUR']);
      expect((await db.query('SELECT payment_type_name::text AS n FROM payment_type ORDER BY payment_type_id')).rows.map((r) => r.n))
        .toEqual(['SALES_RECEIPT', 'SALES_REFUND', 'PURCHASE_PAYMENT', 'PURCHASE_REFUND']);
      const departments = (await db.query('SELECT department_name, location FROM department ORDER BY department_id')).rows;
      expect(departments).toContainEqual({ department_name: 'Dispatch', location: 'Leds' });
      expect(departments.map((d) => d.department_name)).toEqual(['Sales', 'Purchasing', 'Production', 'Dispatch', 'Finance', 'Facilities', 'Communications', 'HR']);
      const staff = await one<{ bad: number; distinct_emails: number }>(db, `SELECT count(*) FILTER (WHERE email_address <> lower(first_name || '.' || last_name || '@terrifictotes.com'))::int AS bad, count(DISTINCT email_address)::int AS distinct_emails FROM staff`);
      expect(staff).toEqual({ bad: 0, distinct_emails: 20 });
      const design = await one<{ bad: number }>(db, `SELECT count(*) FILTER (WHERE file_name !~ ('^' || lower(design_name) || '-20[0-9]{6}-[a-z0-9]{4}\\.json$') OR file_location !~ '^/')::int AS bad FROM design`);
      expect(design.bad).toBe(0);
      const ac = await one<{ bad: number }>(db, `SELECT count(*) FILTER (WHERE company_ac_number NOT BETWEEN 10000000 AND 99999999 OR counterparty_ac_number NOT BETWEEN 10000000 AND 99999999)::int AS bad FROM payment`);
      expect(ac.bad).toBe(0);
    });
  });

  it('has realistic distributions', async () => {
    await withClient(main.url, async (db) => {
      const paid = await one<{ share: number }>(db, 'SELECT avg(paid::int)::float AS share FROM payment');
      expect(paid.share).toBeGreaterThanOrEqual(0.58);
      expect(paid.share).toBeLessThanOrEqual(0.64);
      const types = (await db.query(`SELECT t.transaction_type::text AS tt, p.payment_type_id AS pt, count(*)::int AS n FROM payment p JOIN transaction t USING (transaction_id) GROUP BY 1, 2 ORDER BY 1, 2`)).rows;
      expect(types.map((r) => [r.tt, r.pt])).toEqual([['PURCHASE', 3], ['SALE', 1]]);
      const created = await one<{ weekday: number; in_hours: number; first: string; last: string; days: number }>(db, `
        SELECT avg((extract(isodow FROM created_at) <= 5)::int)::float AS weekday,
               avg((extract(hour FROM created_at) BETWEEN 8 AND 18)::int)::float AS in_hours,
               min(created_at)::text AS first, max(created_at)::text AS last, count(DISTINCT created_at::date)::int AS days
          FROM (SELECT created_at FROM sales_order UNION ALL SELECT created_at FROM purchase_order) o`);
      expect(created.weekday).toBeGreaterThanOrEqual(0.95);
      expect(created.in_hours).toBe(1);
      expect(created.first.startsWith('2022-11-03 14:')).toBe(true);
      expect(created.last.startsWith('2024-11-15')).toBe(true);
      expect(created.days).toBeGreaterThan(500); // spread over ~2 years of weekdays, not bunched
      // Growth: roughly the same volume in each year-half (a steady business, not a burst).
      const halves = (await db.query(`SELECT count(*)::int AS n FROM sales_order WHERE created_at >= '2023-01-01' AND created_at < '2024-07-01' GROUP BY date_trunc('quarter', created_at) ORDER BY 1`)).rows.map((r) => r.n);
      expect(Math.min(...halves) / Math.max(...halves)).toBeGreaterThan(0.8);
      const sales = await one<Record<string, number>>(db, `SELECT min(units_sold) AS min_units, max(units_sold) AS max_units, min(unit_price)::float AS min_price, max(unit_price)::float AS max_price,
               avg(((agreed_delivery_date::date - created_at::date) BETWEEN 0 AND 7)::int)::float AS short_delivery,
               avg(((agreed_payment_date::date - created_at::date) BETWEEN 0 AND 6)::int)::float AS short_payment FROM sales_order`);
      expect(sales.min_units).toBeGreaterThanOrEqual(1000);
      expect(sales.max_units).toBeLessThanOrEqual(100000);
      expect(sales.min_price).toBeGreaterThanOrEqual(2);
      expect(sales.max_price).toBeLessThanOrEqual(4);
      expect(sales.short_delivery).toBeGreaterThan(0.98);
      expect(sales.short_payment).toBe(1);
      const codes = await one<{ bad: number }>(db, `SELECT count(*) FILTER (WHERE item_code !~ '^[A-Z0-9]{7}$')::int AS bad FROM purchase_order`);
      expect(codes.bad).toBe(0);
    });
  });

  it('keeps every order, transaction and payment consistent and every foreign key valid', async () => {
    await withClient(main.url, async (db) => {
      const fks = await one<{ n: number }>(db, `SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace`);
      expect(fks.n).toBe(17); // all of schema.sql's foreign keys are back after the load
      const orphans = await one<Record<string, number>>(db, `SELECT
          (SELECT count(*) FROM sales_order s WHERE NOT EXISTS (SELECT 1 FROM design d WHERE d.design_id = s.design_id AND d.created_at <= s.created_at + interval '1 second'))::int AS sales_before_design,
          (SELECT count(*) FROM transaction t WHERE (t.sales_order_id IS NULL) = (t.purchase_order_id IS NULL))::int AS bad_transactions,
          (SELECT count(*) FROM sales_order s FULL JOIN (SELECT sales_order_id, count(*) AS n FROM transaction GROUP BY 1) t USING (sales_order_id) WHERE s.sales_order_id IS NOT NULL AND t.n IS DISTINCT FROM 1)::int AS sales_not_one_tx,
          (SELECT count(*) FROM purchase_order p FULL JOIN (SELECT purchase_order_id, count(*) AS n FROM transaction GROUP BY 1) t USING (purchase_order_id) WHERE p.purchase_order_id IS NOT NULL AND t.n IS DISTINCT FROM 1)::int AS purchases_not_one_tx,
          (SELECT count(*) FROM transaction t LEFT JOIN (SELECT transaction_id, count(*) AS n FROM payment GROUP BY 1) p USING (transaction_id) WHERE p.n IS DISTINCT FROM 1)::int AS tx_not_one_payment`);
      expect(orphans).toEqual({ sales_before_design: 0, bad_transactions: 0, sales_not_one_tx: 0, purchases_not_one_tx: 0, tx_not_one_payment: 0 });
      const mismatched = await one<{ n: number }>(db, `SELECT count(*)::int AS n FROM payment p JOIN transaction t USING (transaction_id)
          LEFT JOIN sales_order s ON s.sales_order_id = t.sales_order_id LEFT JOIN purchase_order o ON o.purchase_order_id = t.purchase_order_id
         WHERE p.payment_amount <> coalesce(s.units_sold * s.unit_price, o.item_quantity * o.item_unit_price)
            OR p.payment_date <> coalesce(s.agreed_payment_date, o.agreed_payment_date)
            OR p.counterparty_id <> coalesce(s.counterparty_id, o.counterparty_id)
            OR p.currency_id <> coalesce(s.currency_id, o.currency_id)
            OR p.created_at <> t.created_at OR t.created_at <> coalesce(s.created_at, o.created_at)
            OR (p.paid AND (p.last_updated <= p.created_at OR p.last_updated::time NOT BETWEEN '07:55' AND '08:05'))
            OR (NOT p.paid AND p.last_updated <> p.created_at)`);
      expect(mismatched.n).toBe(0);
    });
  });

  it('moves sequences past the generated ids', async () => {
    await withClient(main.url, async (db) => {
      await db.query('BEGIN');
      try {
        const { rows } = await db.query(`INSERT INTO design (design_name, file_location, file_name) VALUES ('Steel', '/tmp', 'steel-20240101-abcd.json') RETURNING design_id`);
        expect(rows[0].design_id).toBe(summary.rowCounts.design + 1);
      } finally {
        await db.query('ROLLBACK');
      }
    });
  });

  it('refuses to seed a database twice', async () => {
    const before = await tableChecksums(main.url);
    await expect(seedTotesys(main.url, { scale: 1, seed: SEED })).rejects.toBeInstanceOf(AlreadySeededError);
    await expect(seedTotesys(main.url, { scale: 1, seed: SEED })).rejects.toThrow(/already holds totesys data/);
    expect(await tableChecksums(main.url)).toEqual(before);
  });

  it('is deterministic: same seed → same content, other seed → other content', async () => {
    const same = await createTestDatabase('totesys gen same');
    const other = await createTestDatabase('totesys gen other');
    dbs.push(same, other);
    await seedTotesys(same.url, { scale: 1, seed: SEED });
    await seedTotesys(other.url, { scale: 1, seed: SEED + 1 });
    const [a, b, c] = await Promise.all([tableChecksums(main.url), tableChecksums(same.url), tableChecksums(other.url)]);
    expect(b).toEqual(a);
    for (const table of ['address', 'staff', 'design', 'sales_order', 'purchase_order', 'payment'] as const) {
      expect(c[table], table).not.toBe(a[table]);
    }
    // The real reference tables do not depend on the seed.
    expect(c.department).toBe(a.department);
    expect(c.currency).toBe(a.currency);
  });

  it('leaves the database empty when aborted mid-seed', async () => {
    const aborted = await createTestDatabase('totesys gen abort');
    dbs.push(aborted);
    const controller = new AbortController();
    const run = seedTotesys(aborted.url, {
      scale: 1,
      seed: SEED,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.table === 'sales_order' && p.rows >= 5000) controller.abort(new Error('stop now'));
      },
    });
    await expect(run).rejects.toThrow(/stop now/);
    await withClient(aborted.url, async (db) => {
      const { n } = await one<{ n: number }>(db, 'SELECT (SELECT count(*) FROM design) + (SELECT count(*) FROM purchase_order) + (SELECT count(*) FROM sales_order) AS n');
      expect(Number(n)).toBe(0);
    });
    // and can then be seeded normally
    const done = await seedTotesys(aborted.url, { scale: 0.05, seed: SEED });
    expect(done.rowCounts.sales_order).toBeGreaterThan(400);
  });
});
