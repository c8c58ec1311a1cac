import type pg from 'pg';

/**
 * The catch-up benchmarks' backlog (bench:catchup, bench/process-stage.ts): `changes` row changes in
 * `transactions` transactions, written while nothing runs. Each transaction is mostly sales-order
 * updates, with new orders, payment and purchase-order updates, and one change each to a staff
 * member, a counterparty, an address and a design (joined dimensions). Resolves to the rows changed.
 */
export async function writeBacklog(client: pg.Client, { changes: BACKLOG_CHANGES, transactions: BACKLOG_TRANSACTIONS }: { changes: number; transactions: number }): Promise<number> {
  const ids = async (sql: string) => (await client.query<{ id: number }>(sql)).rows.map((r) => r.id);
  const sales = await ids('SELECT sales_order_id AS id FROM sales_order ORDER BY 1');
  const payments = await ids('SELECT payment_id AS id FROM payment ORDER BY 1');
  const purchases = await ids('SELECT purchase_order_id AS id FROM purchase_order ORDER BY 1');
  const staff = await ids('SELECT staff_id AS id FROM staff ORDER BY 1');
  const counterparties = await ids('SELECT counterparty_id AS id FROM counterparty ORDER BY 1');
  const addresses = await ids('SELECT address_id AS id FROM address ORDER BY 1');
  const designs = await ids('SELECT design_id AS id FROM design ORDER BY 1');
  const perTransaction = Math.max(20, Math.round(BACKLOG_CHANGES / BACKLOG_TRANSACTIONS));
  const next = (() => {
    const at = new Map<number[], number>();
    return (list: number[], n: number) => {
      let i = at.get(list) ?? 0;
      const out = Array.from({ length: n }, () => list[i++ % list.length]!);
      at.set(list, i);
      return out;
    };
  })();
  const newOrders = Math.round(perTransaction * 0.1);
  const paymentUpdates = Math.round(perTransaction * 0.15);
  const purchaseUpdates = Math.round(perTransaction * 0.1);
  const dimensionUpdates = 4;
  const salesUpdates = perTransaction - newOrders - paymentUpdates - purchaseUpdates - dimensionUpdates;
  let changes = 0;
  for (let t = 0; t < BACKLOG_TRANSACTIONS && changes < BACKLOG_CHANGES; t++) {
    await client.query('BEGIN');
    const run = async (sql: string, values: unknown[]) => (changes += (await client.query(sql, values)).rowCount ?? 0);
    await run('UPDATE sales_order SET units_sold = units_sold + 1, last_updated = now() WHERE sales_order_id = ANY($1::int[])', [next(sales, salesUpdates)]);
    await run(
      `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id, agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id)
       SELECT design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id, agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id
       FROM sales_order WHERE sales_order_id = ANY($1::int[])`,
      [next(sales, newOrders)],
    );
    await run('UPDATE payment SET paid = NOT paid, last_updated = now() WHERE payment_id = ANY($1::int[])', [next(payments, paymentUpdates)]);
    await run('UPDATE purchase_order SET item_quantity = item_quantity + 1, last_updated = now() WHERE purchase_order_id = ANY($1::int[])', [next(purchases, purchaseUpdates)]);
    await run(`UPDATE staff SET email_address = 'x' || staff_id || '.' || $2 || '@example.com', last_updated = now() WHERE staff_id = ANY($1::int[])`, [next(staff, 1), t]);
    await run(`UPDATE counterparty SET delivery_contact = 'Contact ' || $2, last_updated = now() WHERE counterparty_id = ANY($1::int[])`, [next(counterparties, 1), t]);
    await run(`UPDATE address SET phone = '0113 ' || $2, last_updated = now() WHERE address_id = ANY($1::int[])`, [next(addresses, 1), t]);
    await run(`UPDATE design SET file_name = 'design-' || $2 || '.json', last_updated = now() WHERE design_id = ANY($1::int[])`, [next(designs, 1), t]);
    await client.query('COMMIT');
  }
  return changes;
}
