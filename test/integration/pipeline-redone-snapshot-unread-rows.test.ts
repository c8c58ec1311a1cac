import path from 'node:path';
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

/**
 * Issue 14 leftover 4, the redone snapshot's edge case, pinned to the invariant of
 * docs/guarantees.md ("Versions per source row", rule F2): a snapshot version is the FIRST
 * SNAPSHOT READ of a row that no captured insert of it precedes. A row the abandoned snapshot never
 * reached and that was deleted before the redone snapshot read it was read by no snapshot: its
 * history is its captured changes, `d` (carrying its last content) - one version fewer than an
 * audit that assumes the first snapshot read every row ('r' + committed changes). Deleted and
 * inserted again with the same key: `d`, `c`, and the redone snapshot's read of the new row adds
 * nothing (its first version is the captured insert, as for any row inserted while streaming).
 * The neighbours that fix the rule: updated instead (`u` then the redone read, kept: no `c` or
 * `r` before it), and a row the abandoned snapshot did read (`r`, `d`, `c`: as if never killed).
 */
describe('pipeline: rows the abandoned snapshot never read, deleted (and re-inserted) before the redo', () => {
  const source = useCaptureSource('redone snapshot unread rows', { salesOrders: 3000, tempDir: true });
  const names = { slotName: 'unread_rows', publicationName: 'unread_rows' };
  const config = { capture: { ...names, replicaIdentityFull: true, heartbeatIntervalMs: 500 } };
  const writer = new RecordingWriter();
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

  it('get exactly the versions the invariant states: d / d,c (unread), u,r (unread, updated), r,d,c (read)', async () => {
    await abandonSnapshotAfterRows({ sourceUrl: source.url, config, writer, logger: silentLogger }, 1000);
    const readAtA = new Set(writer.events().filter((e) => e.op === 'r' && e.table === 'sales_order').map((e) => Number(e.key.sales_order_id)));
    const deleted = range(2901, 5);
    const recreated = range(2911, 5);
    const updated = range(2921, 5);
    const readThenRecreated = [...readAtA].sort((a, b) => a - b).slice(0, 5);
    for (const id of [...deleted, ...recreated, ...updated]) expect(readAtA.has(id), `${id} was not read by the abandoned snapshot`).toBe(false);
    for (const id of readThenRecreated) expect(readAtA.has(id), `${id} was read by the abandoned snapshot`).toBe(true);

    await withClient(source.url, async (c) => {
      await c.query('CREATE TEMP TABLE kept AS SELECT * FROM sales_order WHERE sales_order_id = ANY($1)', [[...recreated, ...readThenRecreated]]);
      await c.query('DELETE FROM sales_order WHERE sales_order_id = ANY($1)', [[...deleted, ...recreated, ...readThenRecreated]]);
      await c.query('INSERT INTO sales_order SELECT * FROM kept'); // same keys, same content, a later transaction
      await c.query('UPDATE sales_order SET units_sold = units_sold + 1 WHERE sales_order_id = ANY($1)', [updated]);
    });

    // The next start bridges the changes and takes the snapshot again, to completion.
    const abort = new AbortController();
    const running = runCapture({ sourceUrl: source.url, config, writer, logger: silentLogger, signal: abort.signal, snapshotBatchRows: 500 });
    await waitForCaptureToCatchUp(source.url, names);
    abort.abort();
    expect((await running).snapshotTaken).toBe(true);

    const processed = new LocalDirObjectStore(path.join(source.dir, 'processed'));
    const state = new MemoryJoinStateStore();
    const events = writer.events();
    let clock = Date.parse('2026-12-07T07:00:00Z');
    for (let i = 0; i < events.length; i += 700) await processEvents(events.slice(i, i + 700), { state, processed, logger: silentLogger, now: () => (clock += 1000) });
    const warehouse = await createTestDatabase('redone snapshot unread rows warehouse');
    try {
      expect((await loadPendingManifests({ warehouseUrl: warehouse.url, processed, logger: silentLogger })).manifestsFailed).toBe(0);
      const ops = await withClient(warehouse.url, async (c) => {
        const { rows } = await c.query<{ id: number; ops: string }>(`SELECT sales_order_id AS id, string_agg(op, ',' ORDER BY source_lsn, source_seq) AS ops FROM star.fact_sales_order GROUP BY 1`);
        return new Map(rows.map((r) => [r.id, r.ops]));
      });
      for (const id of deleted) expect(ops.get(id), `never read, deleted: ${id}`).toBe('d');
      for (const id of recreated) expect(ops.get(id), `never read, deleted and inserted again: ${id}`).toBe('d,c');
      for (const id of updated) expect(ops.get(id), `never read, updated: ${id}`).toBe('u,r');
      for (const id of readThenRecreated) expect(ops.get(id), `read, deleted and inserted again: ${id}`).toBe('r,d,c');
      // The current view equals the source, whatever the history.
      const [sourceRows, current] = await Promise.all([
        withClient(source.url, async (c) => (await c.query('SELECT sales_order_id AS id, units_sold FROM sales_order ORDER BY 1')).rows),
        withClient(warehouse.url, async (c) => (await c.query('SELECT sales_order_id AS id, units_sold FROM star.fact_sales_order_current ORDER BY 1')).rows),
      ]);
      expect(current).toEqual(sourceRows);
    } finally {
      await warehouse.drop();
    }
  }, 180_000);
});
