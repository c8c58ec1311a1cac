import fs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { requestResnapshot } from '../../cli/commands/resnapshot-command.js';
import type { CaptureStatus } from '../../capture/reporting/capture-status.js';
import { captureStatusFile } from '../../runtime/pipeline-status.js';
import { withClient } from '../support/postgres.js';
import { damageSalesOrderFacts, expectSalesOrdersRepaired, salesOrderVersions, useSyncTestbed } from '../support/sync-testbed.js';

/**
 * Issue 14 item 5: `resnapshot --table` re-reads one table in chunks (DBLog watermarks) while the
 * stream goes on. The warehouse was made to differ from the source behind the pipeline's back (a
 * version lost, a row the source never had); after the resnapshot it equals the source again, with
 * exactly the versions the source committed: updates made during the re-read are one version each,
 * unchanged rows get nothing, the stray row gets a `d` version.
 */
describe('resnapshot --table while streaming', () => {
  const bed = useSyncTestbed('resnapshot', { slotPrefix: 'resnap', salesOrders: 2_500, initialSync: true }); // three chunks of 1,000
  const { sync } = bed;

  it('re-reads the table in chunks without stopping the stream; the warehouse equals the source with exactly its versions', async () => {
    // Damage behind the pipeline's back: sales order 10 lost its only version; 999999 never existed in the source.
    await damageSalesOrderFacts(bed.warehouse.url, 10);
    const before = await salesOrderVersions(bed.warehouse.url);
    await requestResnapshot(bed.source.url, 'sales_order', 'req-1');
    // Updates while the table is re-read: each is one version, whatever chunk or window it falls in.
    const updated: number[] = [];
    const writer = (async () => {
      for (let i = 0; i < 40; i++) {
        const id = 100 + i * 60;
        await withClient(bed.source.url, (c) => c.query('UPDATE sales_order SET units_sold = units_sold + 1 WHERE sales_order_id = $1', [id]));
        updated.push(id);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const summary = await sync(); // its capture finishes the resnapshot before stopping
    const status = JSON.parse(await fs.readFile(captureStatusFile(bed.config), 'utf8')) as CaptureStatus;
    expect(status.resnapshots).toEqual([expect.objectContaining({ requestId: 'req-1', table: 'sales_order', state: 'done', chunks: 3, rowsRead: 2_500 })]);
    await writer;
    await sync(); // the updates committed after the first sync stopped
    expect(summary.loader.failures).toBe(0);
    await expectSalesOrdersRepaired(bed, { lostId: 10, before, updated });
  });
});
