import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { loadConfig, type Config } from '../../platform/config.js';
import { silentLogger } from '../../platform/logger.js';
import { syncPipeline } from '../../runtime/sync-pipeline.js';
import { createTestDatabase, type TestDatabase, withClient } from './postgres.js';
import { createTotesysSchema, INSERT_SALES_ORDERS, seedParents } from './totesys-source.js';

export interface SyncTestbed {
  readonly source: TestDatabase;
  readonly warehouse: TestDatabase;
  readonly stateDir: string;
  readonly slotName: string;
  readonly config: Readonly<Config>;
  /** One `totesys-cdc sync` of this source into this warehouse. */
  sync(): ReturnType<typeof syncPipeline>;
}

/**
 * A source with the totesys schema, its parent rows and `salesOrders` sales orders, an empty
 * warehouse and a state directory, for one `describe` (call it there): created before its first
 * test, dropped after its last. The slot and publication are named `<slotPrefix>_<random>`.
 */
export function useSyncTestbed(name: string, options: { slotPrefix: string; salesOrders: number; initialSync: boolean }): SyncTestbed {
  const bed = {} as { -readonly [K in keyof SyncTestbed]: SyncTestbed[K] };
  bed.sync = () => syncPipeline({ config: bed.config, sourceUrl: bed.source.url, warehouseUrl: bed.warehouse.url, logger: silentLogger });
  beforeAll(async () => {
    [bed.source, bed.warehouse] = await Promise.all([createTestDatabase(`${name} source`), createTestDatabase(`${name} warehouse`)]);
    bed.stateDir = await fs.mkdtemp(path.join(os.tmpdir(), `${options.slotPrefix.replace(/_/g, '-')}-`));
    bed.slotName = `${options.slotPrefix}_${randomBytes(4).toString('hex')}`;
    bed.config = loadConfig(
      { stateDir: bed.stateDir, sourceUrl: bed.source.url, warehouseUrl: bed.warehouse.url, heartbeatIntervalMs: 500, slotName: bed.slotName, publicationName: bed.slotName, logLevel: 'silent' },
      {},
    );
    await createTotesysSchema(bed.source.url);
    await seedParents(bed.source.url);
    await withClient(bed.source.url, (c) => c.query(INSERT_SALES_ORDERS, [options.salesOrders]));
    if (options.initialSync) await bed.sync();
  });
  afterAll(async () => {
    await bed.source?.drop();
    await bed.warehouse?.drop();
    if (bed.stateDir) await fs.rm(bed.stateDir, { recursive: true, force: true });
  });
  return bed;
}

/** Per sales order, its fact versions' ops in version order. */
export function salesOrderVersions(warehouseUrl: string, schema = 'star'): Promise<Map<number, string[]>> {
  return withClient(warehouseUrl, async (wh) => {
    const { rows } = await wh.query<{ id: number; ops: string[] }>(
      `SELECT sales_order_id AS id, array_agg(op ORDER BY source_lsn, source_seq) AS ops FROM ${wh.escapeIdentifier(schema)}.fact_sales_order GROUP BY 1`,
    );
    return new Map(rows.map((r) => [r.id, r.ops]));
  });
}

/**
 * Damage behind the pipeline's back, for a re-read to repair: sales order `lostId` loses its
 * versions, and 999999 (a row the source never had) gets a `c` version copied from order 11.
 */
export function damageSalesOrderFacts(warehouseUrl: string, lostId: number): Promise<void> {
  return withClient(warehouseUrl, async (wh) => {
    await wh.query('DELETE FROM star.fact_sales_order WHERE sales_order_id = $1', [lostId]);
    await wh.query(
      `INSERT INTO star.fact_sales_order (sales_order_id, created_date, created_time, last_updated_date, last_updated_time, sales_staff_id, counterparty_id, units_sold, unit_price, currency_id, design_id, agreed_payment_date, agreed_delivery_date, agreed_delivery_location_id, event_id, op, source_lsn, source_seq, commit_ts)
       SELECT 999999, created_date, created_time, last_updated_date, last_updated_time, sales_staff_id, counterparty_id, units_sold, unit_price, currency_id, design_id, agreed_payment_date, agreed_delivery_date, agreed_delivery_location_id, 'stray', 'c', source_lsn, source_seq, commit_ts
         FROM star.fact_sales_order WHERE sales_order_id = 11`,
    );
  });
}

/**
 * After a re-read repaired damageSalesOrderFacts: the current facts equal the source, the lost order
 * came back as one `r`, the stray one got one `d`, and every other order has exactly the versions it
 * had `before`, plus one `u` for each id in `updated`.
 */
export async function expectSalesOrdersRepaired(bed: SyncTestbed, expected: { lostId: number; before: Map<number, string[]>; updated?: number[] }): Promise<void> {
  const [sourceRows, current] = await Promise.all([
    withClient(bed.source.url, async (c) => (await c.query('SELECT sales_order_id AS id, units_sold FROM sales_order ORDER BY 1')).rows),
    withClient(bed.warehouse.url, async (c) => (await c.query('SELECT sales_order_id AS id, units_sold FROM star.fact_sales_order_current ORDER BY 1')).rows),
  ]);
  expect(current).toEqual(sourceRows);
  const after = await salesOrderVersions(bed.warehouse.url);
  expect(after.get(expected.lostId), 'a lost row comes back as one r version').toEqual(['r']);
  expect(after.get(999999), 'a row the source does not have gets one d').toEqual(['c', 'd']);
  for (const [id, ops] of expected.before) {
    if (id === 999999) continue;
    expect(after.get(id), `sales order ${id}`).toEqual(expected.updated?.includes(id) ? [...ops, 'u'] : ops);
  }
}
