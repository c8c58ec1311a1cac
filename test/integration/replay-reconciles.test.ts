import { beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore } from '../../bucket/create-object-store.js';
import { requestResnapshot } from '../../cli/commands/resnapshot-command.js';
import { silentLogger } from '../../platform/logger.js';
import { replay } from '../../replay/replay.js';
import { withClient } from '../support/postgres.js';
import { salesOrderVersions, useSyncTestbed } from '../support/sync-testbed.js';
import { INSERT_SALES_ORDERS } from '../support/totesys-source.js';
import { dumpWarehouse } from '../support/warehouse-dump.js';

/**
 * Issue 14 leftover 1: `replay --rebuild` applies the archive's reconcile records, in version
 * order, so the rebuilt warehouse equals the live one, history included, after the three ways a
 * delete reaches the pipeline without a delete event: a TRUNCATE (with CASCADE, in a transaction
 * with inserts before and after it), a lost slot whose recovery snapshot finds rows deleted while
 * blind, and a `resnapshot --table` that finds rows whose deletes were never published.
 */
describe('replay --rebuild applies reconcile records', () => {
  const bed = useSyncTestbed('replay reconciles', { slotPrefix: 'replay_rec', salesOrders: 300, initialSync: false });
  const { sync } = bed;
  beforeAll(() =>
    withClient(bed.source.url, async (c) => {
      await c.query(`INSERT INTO design (design_name, file_location, file_name) VALUES ('Wood', '/w', 'w.json'), ('Glass', '/g', 'g.json'), ('Tin', '/t', 't.json')`);
      await c.query(`INSERT INTO transaction (transaction_type, sales_order_id) SELECT 'SALE', sales_order_id FROM sales_order WHERE sales_order_id <= 40`);
    }),
  );

  it('after a TRUNCATE, a lost-slot recovery and a resnapshot, the rebuild equals the live warehouse table by table', async () => {
    await sync(); // the initial snapshot (its reconciles find nothing to delete)

    // 1. TRUNCATE ... CASCADE (sales_order → transaction) between inserts of one transaction.
    await withClient(bed.source.url, async (c) => {
      await c.query('UPDATE sales_order SET units_sold = units_sold + 1 WHERE sales_order_id <= 10');
      await c.query('BEGIN');
      await c.query(INSERT_SALES_ORDERS, [5]);
      await c.query('TRUNCATE sales_order CASCADE');
      await c.query(INSERT_SALES_ORDERS, [120]);
      await c.query('COMMIT');
      await c.query(`INSERT INTO transaction (transaction_type, sales_order_id) SELECT 'SALE', min(sales_order_id) FROM sales_order`);
    });
    await sync();
    const afterTruncate = await salesOrderVersions(bed.warehouse.url);
    expect(afterTruncate.get(1), 'a truncated row gets one delete version').toEqual(['r', 'u', 'd']);
    expect(afterTruncate.get(302), 'inserted before the truncate in its transaction').toEqual(['c', 'd']);

    // 2. The slot is lost (dropped); rows are deleted and changed while nobody captures.
    await withClient(bed.source.url, async (c) => {
      await c.query('SELECT pg_drop_replication_slot($1)', [bed.slotName]);
      await c.query('DELETE FROM sales_order WHERE sales_order_id IN (SELECT sales_order_id FROM sales_order ORDER BY 1 DESC LIMIT 7) AND sales_order_id NOT IN (SELECT sales_order_id FROM transaction WHERE sales_order_id IS NOT NULL)');
      await c.query('UPDATE sales_order SET units_sold = 1 WHERE sales_order_id IN (SELECT sales_order_id FROM sales_order ORDER BY 1 LIMIT 4)');
      await c.query(`DELETE FROM design WHERE design_name = 'Tin'`);
    });
    const recovered = await sync();
    expect(recovered.capture.snapshotTaken).toBe(true);

    // 3. Deletes the publication does not publish (as if lost), then a resnapshot finds them.
    const unpublished = await withClient(bed.source.url, async (c) => {
      await c.query(`ALTER PUBLICATION ${c.escapeIdentifier(bed.slotName)} SET (publish = 'insert, update, truncate')`);
      const { rows } = await c.query<{ id: number }>(`DELETE FROM sales_order WHERE sales_order_id IN (SELECT sales_order_id FROM sales_order WHERE sales_order_id NOT IN (SELECT sales_order_id FROM transaction WHERE sales_order_id IS NOT NULL) ORDER BY 1 LIMIT 5) RETURNING sales_order_id AS id`);
      await c.query(`ALTER PUBLICATION ${c.escapeIdentifier(bed.slotName)} SET (publish = 'insert, update, delete, truncate')`);
      return rows.map((r) => r.id);
    });
    expect(unpublished).toHaveLength(5);
    await requestResnapshot(bed.source.url, 'sales_order', 'replay-reconciles');
    await sync();

    const live = await salesOrderVersions(bed.warehouse.url);
    for (const id of unpublished) expect(live.get(id)?.at(-1), `deleted unpublished, found by the resnapshot: ${id}`).toBe('d');
    const [sourceRows, current] = await Promise.all([
      withClient(bed.source.url, async (c) => (await c.query('SELECT sales_order_id AS id, units_sold FROM sales_order ORDER BY 1')).rows),
      withClient(bed.warehouse.url, async (c) => (await c.query('SELECT sales_order_id AS id, units_sold FROM star.fact_sales_order_current ORDER BY 1')).rows),
    ]);
    expect(current).toEqual(sourceRows);
    const liveDump = await dumpWarehouse(bed.warehouse.url);

    // The rebuild from the archive alone (two lanes, bulk load) gives the same warehouse.
    const ingestion = createObjectStore(bed.config, 'ingestion');
    const processed = createObjectStore(bed.config, 'processed');
    const rebuilt = await replay({ ingestion, processed, warehouseUrl: bed.warehouse.url, rebuild: true, logger: silentLogger, lanes: 2, batchSize: 500 });
    expect(rebuilt.partial).toBe(false);
    const rebuiltDump = await dumpWarehouse(bed.warehouse.url);
    for (const table of Object.keys(liveDump) as (keyof typeof liveDump)[]) {
      expect(rebuiltDump[table], `${table}: rebuild equals live`).toEqual(liveDump[table]);
    }
    expect(rebuilt.reconciles).toBeGreaterThan(3);
    expect(rebuilt.reconcileRowsDeleted).toBeGreaterThan(300);

    // Into the live schema (no --rebuild): every reconcile is already applied; nothing changes.
    const again = await replay({ ingestion, processed, warehouseUrl: bed.warehouse.url, logger: silentLogger, batchSize: 500 });
    expect(again).toMatchObject({ reconciles: rebuilt.reconciles, reconcilesApplied: 0, reconcileRowsDeleted: 0 });
    expect(await dumpWarehouse(bed.warehouse.url)).toEqual(liveDump);
  }, 240_000);
});
