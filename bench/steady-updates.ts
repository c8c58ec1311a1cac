import { createPostgresClient } from '../platform/postgres-client.js';

/**
 * The freshness benches' load: every 100 ms one transaction that updates rowsPerSec/10 sales orders
 * (distinct ids, round robin), for durationMs. Returns the number of rows updated.
 */
export async function steadyUpdates(url: string, rowsPerSec: number, durationMs: number): Promise<number> {
  if (rowsPerSec <= 0) return 0;
  const client = createPostgresClient({ url, applicationName: 'totesys-cdc-bench' });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: number }>('SELECT sales_order_id AS id FROM sales_order ORDER BY 1');
    const ids = rows.map((r) => r.id);
    const perTick = Math.max(1, Math.round(rowsPerSec / 10));
    const started = Date.now();
    let updated = 0;
    for (let tick = 0, next = 0; Date.now() - started < durationMs; tick++) {
      const batch = Array.from({ length: perTick }, () => ids[next++ % ids.length]);
      updated += (await client.query('UPDATE sales_order SET units_sold = units_sold + 1, last_updated = now() WHERE sales_order_id = ANY($1::int[])', [batch])).rowCount ?? 0;
      await new Promise((r) => setTimeout(r, Math.max(0, started + (tick + 1) * 100 - Date.now())));
    }
    return updated;
  } finally {
    await client.end();
  }
}
