import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestResnapshot } from '../../cli/commands/resnapshot-command.js';
import type { CaptureStatus } from '../../capture/reporting/capture-status.js';
import { loadConfig, type Config } from '../../platform/config.js';
import { silentLogger } from '../../platform/logger.js';
import { captureStatusFile } from '../../runtime/pipeline-status.js';
import { syncPipeline } from '../../runtime/sync-pipeline.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';
import { createTotesysSchema, INSERT_SALES_ORDERS, seedParents } from '../support/totesys-source.js';

/**
 * Issue 14 item 5: `resnapshot --table` re-reads one table in chunks (DBLog watermarks) while the
 * stream goes on. The warehouse was made to differ from the source behind the pipeline's back (a
 * version lost, a row the source never had); after the resnapshot it equals the source again, with
 * exactly the versions the source committed: updates made during the re-read are one version each,
 * unchanged rows get nothing, the stray row gets a `d` version.
 */
describe('resnapshot --table while streaming', () => {
  let source: TestDatabase;
  let warehouse: TestDatabase;
  let stateDir: string;
  let config: Readonly<Config>;
  const sync = () => syncPipeline({ config, sourceUrl: source.url, warehouseUrl: warehouse.url, logger: silentLogger });

  beforeAll(async () => {
    [source, warehouse] = await Promise.all([createTestDatabase('resnapshot source'), createTestDatabase('resnapshot warehouse')]);
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'capture-resnapshot-'));
    const slotName = `resnap_${randomBytes(4).toString('hex')}`;
    config = loadConfig({ stateDir, sourceUrl: source.url, warehouseUrl: warehouse.url, heartbeatIntervalMs: 500, slotName, publicationName: slotName, logLevel: 'silent' }, {});
    await createTotesysSchema(source.url);
    await seedParents(source.url);
    await withClient(source.url, (c) => c.query(INSERT_SALES_ORDERS, [2_500])); // three chunks of 1,000
    await sync();
  });

  afterAll(async () => {
    await source?.drop();
    await warehouse?.drop();
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  const versions = () =>
    withClient(warehouse.url, async (wh) => {
      const { rows } = await wh.query<{ id: number; ops: string[] }>(`SELECT sales_order_id AS id, array_agg(op ORDER BY source_lsn, source_seq) AS ops FROM star.fact_sales_order GROUP BY 1`);
      return new Map(rows.map((r) => [r.id, r.ops]));
    });

  it('re-reads the table in chunks without stopping the stream; the warehouse equals the source with exactly its versions', async () => {
    // Damage behind the pipeline's back: sales order 10 lost its only version; 999999 never existed in the source.
    await withClient(warehouse.url, async (wh) => {
      await wh.query('DELETE FROM star.fact_sales_order WHERE sales_order_id = 10');
      await wh.query(
        `INSERT INTO star.fact_sales_order (sales_order_id, created_date, created_time, last_updated_date, last_updated_time, sales_staff_id, counterparty_id, units_sold, unit_price, currency_id, design_id, agreed_payment_date, agreed_delivery_date, agreed_delivery_location_id, event_id, op, source_lsn, source_seq, commit_ts)
         SELECT 999999, created_date, created_time, last_updated_date, last_updated_time, sales_staff_id, counterparty_id, units_sold, unit_price, currency_id, design_id, agreed_payment_date, agreed_delivery_date, agreed_delivery_location_id, 'stray', 'c', source_lsn, source_seq, commit_ts
           FROM star.fact_sales_order WHERE sales_order_id = 11`,
      );
    });
    const before = await versions();
    await requestResnapshot(source.url, 'sales_order', 'req-1');
    // Updates while the table is re-read: each is one version, whatever chunk or window it falls in.
    const updated: number[] = [];
    const writer = (async () => {
      for (let i = 0; i < 40; i++) {
        const id = 100 + i * 60;
        await withClient(source.url, (c) => c.query('UPDATE sales_order SET units_sold = units_sold + 1 WHERE sales_order_id = $1', [id]));
        updated.push(id);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const summary = await sync(); // its capture finishes the resnapshot before stopping
    const status = JSON.parse(await fs.readFile(captureStatusFile(config), 'utf8')) as CaptureStatus;
    expect(status.resnapshots).toEqual([expect.objectContaining({ requestId: 'req-1', table: 'sales_order', state: 'done', chunks: 3, rowsRead: 2_500 })]);
    await writer;
    await sync(); // the updates committed after the first sync stopped
    expect(summary.loader.failures).toBe(0);
    const [sourceRows, current] = await Promise.all([
      withClient(source.url, async (c) => (await c.query('SELECT sales_order_id AS id, units_sold FROM sales_order ORDER BY 1')).rows),
      withClient(warehouse.url, async (c) => (await c.query('SELECT sales_order_id AS id, units_sold FROM star.fact_sales_order_current ORDER BY 1')).rows),
    ]);
    expect(current).toEqual(sourceRows);
    const after = await versions();
    expect(after.get(10), 'a lost row comes back as one r version').toEqual(['r']);
    expect(after.get(999999), 'a row the source does not have gets one d').toEqual(['c', 'd']);
    for (const [id, ops] of before) {
      if (id === 999999) continue;
      const expected = updated.includes(id) ? [...ops, 'u'] : ops;
      expect(after.get(id), `sales order ${id}`).toEqual(expected);
    }
  });
});
