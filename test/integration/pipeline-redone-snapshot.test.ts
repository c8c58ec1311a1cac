import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { runCapture } from '../../capture/run-capture.js';
import { loadPendingManifests } from '../../loader/run-loader.js';
import { silentLogger } from '../../platform/logger.js';
import { processEvents } from '../../stream-processors/process-batch.js';
import { MemoryJoinStateStore } from '../../stream-processors/state/memory-join-state-store.js';
import { waitForCaptureToCatchUp } from '../support/capture-catch-up.js';
import { RecordingWriter } from '../support/capture-recorder.js';
import { abandonSnapshotAfter as abandonSnapshotAfterRows, useCaptureSource } from '../support/capture-source.js';
import { createTestDatabase, withClient } from '../support/postgres.js';
import { INSERT_SALES_ORDERS } from '../support/totesys-source.js';

/**
 * Issue 14 item 2 end to end on embedded Postgres: the initial snapshot is abandoned twice (a stop
 * request half way, as a kill during `sync`'s snapshot leaves it), changes are committed between
 * and after, the third start bridges and completes; capture's events then go through the real
 * processor and loader. Per sales order the warehouse must hold one version for the snapshot (or
 * insert) that first saw it plus one per change the source committed: never a second snapshot
 * version for the rows both abandoned snapshots read again (the redone snapshot and the bridge).
 */
describe('pipeline: a redone and bridged snapshot adds no version', () => {
  const source = useCaptureSource('redone snapshot', { salesOrders: 6000, tempDir: true });
  const names = { slotName: 'keys_resnap', publicationName: 'keys_resnap' };
  const config = { capture: { ...names, replicaIdentityFull: true, heartbeatIntervalMs: 500 } };
  const writer = new RecordingWriter();
  /** Versions the source committed per sales order after the capture started (1 = its first read or insert). */
  const expected = new Map<number, number>();

  const abandonSnapshotAfter = (rows: number) => abandonSnapshotAfterRows({ sourceUrl: source.url, config, writer, logger: silentLogger }, rows);

  /** Commits one change per listed id (each its own transaction) and counts it. */
  async function change(c: pg.Client, sql: string, ids: number[]): Promise<void> {
    for (const id of ids) {
      const { rowCount } = await c.query(sql, [id]);
      if (rowCount) expected.set(id, (expected.get(id) ?? 0) + 1);
    }
  }

  it('per sales order: exactly one version for its first read plus one per committed change', async () => {
    await withClient(source.url, async (c) => {
      for (const row of (await c.query('SELECT sales_order_id AS id FROM sales_order')).rows) expected.set(row.id as number, 1);
    });
    const update = 'UPDATE sales_order SET units_sold = units_sold + 1 WHERE sales_order_id = $1';
    const remove = 'DELETE FROM sales_order WHERE sales_order_id = $1';
    const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

    await abandonSnapshotAfter(1000); // point A: about the first 1000-1500 orders read
    const readAtA = new Set(writer.events().filter((e) => e.op === 'r' && e.table === 'sales_order').map((e) => Number(e.key.sales_order_id)));
    expect(readAtA.size).toBeGreaterThanOrEqual(500);
    await withClient(source.url, async (c) => {
      await change(c, update, range(1, 50)); // read at A, changed before B
      await change(c, update, range(1, 10)); // twice
      await change(c, remove, range(100, 20)); // read at A, deleted before B
      await change(c, update, range(5000, 30)); // never read at A, updated before B (the bridge brings the update)
      await change(c, update, range(5000, 5));
    });
    await abandonSnapshotAfter(2000); // point B: abandoned again, after bridging A..B
    await withClient(source.url, async (c) => {
      await change(c, update, range(200, 30)); // read at A and B, changed before C
      await change(c, update, range(5900, 30)); // read by neither
      const inserted = await c.query(`${INSERT_SALES_ORDERS} RETURNING sales_order_id AS id`, [10]);
      for (const row of inserted.rows) expected.set(row.id as number, 1);
    });
    // The third start bridges A..C and completes; changes after it are streamed.
    const abort = new AbortController();
    const running = runCapture({ sourceUrl: source.url, config, writer, logger: silentLogger, signal: abort.signal, snapshotBatchRows: 500 });
    await waitForCaptureToCatchUp(source.url, names);
    await withClient(source.url, (c) => change(c, update, range(1, 5)));
    await waitForCaptureToCatchUp(source.url, names);
    abort.abort();
    expect((await running).snapshotTaken).toBe(true);
    const events = writer.events();
    expect(new Set(events.filter((e) => e.op === 'r').map((e) => e.source.lsn)).size).toBe(3);

    // The real processor (batches of 700 events, in stream order) and loader.
    const processed = new LocalDirObjectStore(path.join(source.dir, 'processed'));
    const state = new MemoryJoinStateStore();
    let clock = Date.parse('2026-12-07T05:00:00Z');
    for (let i = 0; i < events.length; i += 700) await processEvents(events.slice(i, i + 700), { state, processed, logger: silentLogger, now: () => (clock += 1000) });
    const warehouse = await createTestDatabase('redone snapshot warehouse');
    try {
      const loaded = await loadPendingManifests({ warehouseUrl: warehouse.url, processed, logger: silentLogger });
      expect(loaded.manifestsFailed).toBe(0);
      const versions = await withClient(warehouse.url, async (c) =>
        new Map((await c.query('SELECT sales_order_id AS id, count(*)::int AS n FROM star.fact_sales_order GROUP BY 1')).rows.map((r) => [r.id as number, r.n as number])),
      );
      const wrong = [...expected].filter(([id, n]) => versions.get(id) !== n).map(([id, n]) => `${id}: expected ${n}, warehouse ${versions.get(id) ?? 0}`);
      expect(wrong.slice(0, 10), `${wrong.length} sales orders with the wrong number of versions`).toEqual([]);
      expect(versions.size).toBe(expected.size);
    } finally {
      await warehouse.drop();
    }
  }, 180_000);
});
