import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCE_TABLES, PRIMARY_KEYS } from '../../contracts/source-tables.js';
import { seedTotesys } from '../../totesys/generator/seed-totesys.js';
import { CHANGE_KINDS } from '../../totesys/simulator/change-mix.js';
import { runSimulator, type SimulatedChange, type SimulatorSummary } from '../../totesys/simulator/run-simulator.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';

const SEED = 7;
const SCALE = 0.1;
/** A fixed, advancing clock: the simulator's "now" (2025-01-06 is a Monday), 1 s per change. */
function fixedClock(): () => number {
  let t = Date.UTC(2025, 0, 6, 9, 0, 0, 123);
  return () => (t += 1000);
}


async function checksum(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const parts: string[] = [];
    for (const table of SOURCE_TABLES) {
      const { rows } = await c.query(`SELECT md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x.${c.escapeIdentifier(PRIMARY_KEYS[table])}), '')) AS sum FROM ${c.escapeIdentifier(table)} AS x`);
      parts.push(`${table}:${rows[0].sum}`);
    }
    return parts.join(' ');
  });
}

describe('totesys workload simulator', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  const changes: SimulatedChange[] = [];
  let summary: SimulatorSummary;

  beforeAll(async () => {
    [a, b] = await Promise.all([createTestDatabase('totesys sim a'), createTestDatabase('totesys sim b')]);
    await seedTotesys(a.url, { scale: SCALE, seed: SEED });
    await seedTotesys(b.url, { scale: SCALE, seed: SEED });
    await withClient(a.url, async (c) => {
      await c.query('CREATE TABLE before_sales_order AS SELECT * FROM sales_order');
      await c.query('CREATE TABLE before_design AS SELECT * FROM design');
    });
    summary = await runSimulator(a.url, { ratePerSecond: 100_000, changes: 300, seed: SEED, clock: fixedClock(), onChange: (c) => changes.push(c) });
  });
  afterAll(async () => {
    await a?.drop();
    await b?.drop();
  });

  it('makes every kind of change', () => {
    expect(summary.stoppedBy).toBe('changes');
    expect(summary.changes + summary.skipped).toBe(300);
    expect(summary.changes).toBe(changes.length);
    for (const kind of CHANGE_KINDS) expect(summary.byKind[kind], kind).toBeGreaterThan(0);
    const silent = changes.filter((c) => c.kind === 'silent_update');
    expect(new Set(silent.map((c) => c.table))).toEqual(new Set(['sales_order', 'design']));
  });

  it('changes silent-update columns without touching last_updated', async () => {
    await withClient(a.url, async (db) => {
      const silent = changes.filter((c) => c.kind === 'silent_update');
      let checked = 0;
      for (const change of silent) {
        const table = change.table === 'design' ? 'design' : 'sales_order';
        const pk = PRIMARY_KEYS[table];
        const col = db.escapeIdentifier(change.column!);
        const { rows } = await db.query(
          `SELECT now_row.last_updated::text AS lu_now, old.last_updated::text AS lu_before, now_row.${col}::text AS v_now, old.${col}::text AS v_before
             FROM ${table} now_row JOIN before_${table} old USING (${pk}) WHERE ${pk} = $1`,
          [change.id],
        );
        if (!rows.length) continue; // deleted later in the run
        expect(rows[0].lu_now, `${table} ${change.id}`).toBe(rows[0].lu_before);
        expect(rows[0].v_now, `${table} ${change.id} ${change.column}`).not.toBe(rows[0].v_before);
        checked++;
      }
      expect(checked).toBeGreaterThan(5);
    });
  });

  it('writes an order, its transaction and its payment in one source transaction, stamped with the clock', async () => {
    await withClient(a.url, async (db) => {
      const created = changes.filter((c) => c.kind === 'new_sales_order' || c.kind === 'new_purchase_order');
      const deleted = new Set(changes.filter((c) => c.kind === 'delete_unpaid_order').map((c) => `${c.table}:${c.id}`));
      const touchedLater = new Set(changes.filter((c) => !created.includes(c)).flatMap((c) => c.rows.map((r) => `${r.table}:${r.id}`)));
      let checked = 0;
      for (const change of created) {
        if (deleted.has(`${change.table}:${change.id}`)) continue;
        const [order, tx, payment] = change.rows;
        const { rows } = await db.query(
          `SELECT o.xmin::text AS ox, t.xmin::text AS tx, p.xmin::text AS px, o.last_updated::text AS olu, t.last_updated::text AS tlu, p.created_at::text AS pca,
                  p.payment_amount::text AS amount, (o.q * o.price)::numeric(10,2)::text AS expected, p.paid,
                  t.transaction_type::text AS ttype, p.payment_type_id
             FROM (SELECT ${order.table === 'sales_order' ? 'sales_order_id AS id, units_sold AS q, unit_price AS price' : 'purchase_order_id AS id, item_quantity AS q, item_unit_price AS price'}, xmin, last_updated FROM ${order.table}) o
             JOIN transaction t ON t.transaction_id = $2 JOIN payment p ON p.payment_id = $3 WHERE o.id = $1`,
          [order.id, tx.id, payment.id],
        );
        expect(rows, `${order.table} ${order.id}`).toHaveLength(1);
        const r = rows[0];
        // Later updates (payment paid, silent update) give a row a newer xmin: compare untouched rows only.
        const xmins = [touchedLater.has(`${order.table}:${order.id}`) ? r.tx : r.ox, r.tx, touchedLater.has(`payment:${payment.id}`) ? r.tx : r.px];
        expect(new Set(xmins).size).toBe(1);
        expect([r.olu, r.tlu, r.pca]).toEqual([change.lastUpdated, change.lastUpdated, change.lastUpdated]);
        expect(r.amount).toBe(r.expected);
        expect([r.ttype, r.payment_type_id]).toEqual(order.table === 'sales_order' ? ['SALE', 1] : ['PURCHASE', 3]);
        checked++;
      }
      expect(checked).toBeGreaterThan(100);
      expect(created[0].lastUpdated).toMatch(/^2025-01-06 09:00:\d\d\.123$/);
    });
  });

  it('marks due payments paid with a fresh last_updated', async () => {
    await withClient(a.url, async (db) => {
      const paid = changes.filter((c) => c.kind === 'payment_paid');
      const { rows } = await db.query(`SELECT payment_id, paid, last_updated::text AS lu, payment_date FROM payment WHERE payment_id = ANY($1::int[]) ORDER BY payment_id`, [paid.map((c) => c.id)]);
      expect(rows).toHaveLength(new Set(paid.map((c) => c.id)).size);
      for (const row of rows) {
        expect(row.paid).toBe(true);
        expect(row.payment_date <= '2025-01-06').toBe(true);
        expect(row.lu).toBe(paid.find((c) => c.id === row.payment_id)!.lastUpdated);
      }
    });
  });

  it('deletes unpaid orders children first and leaves no orphans', async () => {
    await withClient(a.url, async (db) => {
      const deletes = changes.filter((c) => c.kind === 'delete_unpaid_order');
      for (const change of deletes) {
        expect(change.rows.map((r) => r.table)).toEqual(['payment', 'transaction', change.table]);
        const pk = PRIMARY_KEYS[change.table];
        const { rowCount } = await db.query(`SELECT 1 FROM ${change.table} WHERE ${pk} = $1`, [change.id]);
        expect(rowCount).toBe(0);
      }
      const orphans = await db.query(`SELECT
          (SELECT count(*) FROM transaction t WHERE NOT EXISTS (SELECT 1 FROM payment p WHERE p.transaction_id = t.transaction_id))::int AS tx_without_payment,
          (SELECT count(*) FROM sales_order s WHERE NOT EXISTS (SELECT 1 FROM transaction t WHERE t.sales_order_id = s.sales_order_id))::int AS sales_without_tx,
          (SELECT count(*) FROM purchase_order o WHERE NOT EXISTS (SELECT 1 FROM transaction t WHERE t.purchase_order_id = o.purchase_order_id))::int AS purchases_without_tx`);
      expect(orphans.rows[0]).toEqual({ tx_without_payment: 0, sales_without_tx: 0, purchases_without_tx: 0 });
    });
  });

  it('is deterministic: same seed and data → same decisions and the same database', async () => {
    const replay: SimulatedChange[] = [];
    await runSimulator(b.url, { ratePerSecond: 100_000, changes: 300, seed: SEED, clock: fixedClock(), onChange: (c) => replay.push(c) });
    expect(replay).toEqual(changes);
    await withClient(a.url, (c) => c.query('DROP TABLE before_sales_order, before_design'));
    expect(await checksum(b.url)).toBe(await checksum(a.url));
  });

  it('respects the rate limit and stops on duration or signal', async () => {
    const timed = await runSimulator(a.url, { ratePerSecond: 50, durationMs: 2000, seed: SEED + 1 });
    expect(timed.stoppedBy).toBe('duration');
    // Never above the rate (100 in 2 s); below it only as far as a loaded machine slows the writes.
    expect(timed.changes + timed.skipped).toBeGreaterThanOrEqual(40);
    expect(timed.changes + timed.skipped).toBeLessThanOrEqual(110);
    const controller = new AbortController();
    const aborted = await runSimulator(a.url, {
      ratePerSecond: 1000,
      seed: SEED + 2,
      signal: controller.signal,
      onChange: (c) => { if (c.seq >= 20) controller.abort(); },
    });
    expect(aborted.stoppedBy).toBe('signal');
    expect(aborted.changes).toBeGreaterThanOrEqual(19);
    expect(aborted.changes).toBeLessThanOrEqual(21);
  });
});
