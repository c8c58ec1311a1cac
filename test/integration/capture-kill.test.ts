import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { applyEvents, assertPerKeyOrder, readNdjsonEvents } from '../support/capture-recorder.js';
import { spawnCaptureChild } from '../support/capture-child-process.js';
import { INSERT_SALES_ORDERS, readSourceState } from '../support/totesys-source.js';
import { waitFor } from '../support/wait-for.js';
import { waitForCaptureToCatchUp } from '../support/capture-catch-up.js';
import { useCaptureSource } from '../support/capture-source.js';

async function fileSize(file: string): Promise<number> {
  return fs.stat(file).then((s) => s.size, () => 0);
}

describe('capture: kill -9 during a write load', () => {
  const source = useCaptureSource('capture kill', { salesOrders: 2000, tempDir: true });

  it('loses no change and keeps per-key order across kill -9 (duplicates only with identical ids)', async () => {
    const out = path.join(source.dir, 'events.ndjson');
    const env = { CAPTURE_SOURCE_URL: source.url, CAPTURE_SLOT: 'cap_kill', CAPTURE_OUT: out, CAPTURE_HEARTBEAT_MS: '500' };
    // Write load: many small transactions, several changes per key.
    let stopLoad = false;
    const load = (async () => {
      const c = new pg.Client({ connectionString: source.url });
      await c.connect();
      for (let i = 0; !stopLoad && i < 50_000; i++) {
        const id = 1 + (i % 300);
        await c.query('BEGIN');
        await c.query('UPDATE sales_order SET units_sold = units_sold + 1 WHERE sales_order_id = $1', [id]);
        if (i % 4 === 0) await c.query(INSERT_SALES_ORDERS, [2]);
        if (i % 7 === 0) await c.query('DELETE FROM sales_order WHERE sales_order_id = (SELECT max(sales_order_id) FROM sales_order)');
        await c.query('COMMIT');
      }
      await c.end();
    })();

    let kills = 0;
    let streamedCount = 0;
    for (let trial = 0; trial < 4; trial++) {
      const sizeBefore = await fileSize(out);
      const run = spawnCaptureChild(env);
      // Kill at a random moment once this run is publishing: in the first trial that is during the
      // snapshot, later mid-stream.
      await waitFor(async () => (await fileSize(out)) > sizeBefore, { what: 'child to publish', timeoutMs: 20_000 });
      // Later trials kill mid-stream: wait for streamed changes (on a loaded machine a snapshot can
      // outlast the kill delay, and every trial would then only ever redo the snapshot).
      if (trial > 0) {
        const streamedBefore = streamedCount;
        await waitFor(async () => (streamedCount = readNdjsonEvents(out).filter((e) => e.op !== 'r').length) > streamedBefore, {
          what: 'child to stream changes',
          timeoutMs: 30_000,
        });
      }
      await new Promise((r) => setTimeout(r, trial === 0 ? Math.random() * 50 : 300 + Math.random() * 700));
      run.child.kill('SIGKILL');
      await run.exited;
      kills++;
    }
    stopLoad = true;
    await load;
    const last = spawnCaptureChild(env);
    await waitForCaptureToCatchUp(source.url, { slotName: 'cap_kill', publicationName: 'cap_kill' }, { what: 'final capture to catch up', timeoutMs: 40_000 });
    last.child.kill('SIGTERM');
    expect(await last.exited, last.stderr()).toBe(0);
    expect(kills).toBe(4);

    const events = readNdjsonEvents(out);
    expect(events.filter((e) => e.op !== 'r').length).toBeGreaterThan(100);
    // The first kill lands in the snapshot: a later run snapshots again (new snapshot LSN).
    expect(new Set(events.filter((e) => e.op === 'r').map((e) => e.source.lsn)).size).toBeGreaterThan(1);
    assertPerKeyOrder(events);
    const expected = await readSourceState(source.url);
    const actual = applyEvents(events);
    for (const [table, rows] of expected) {
      expect(Object.fromEntries(actual.get(table) ?? new Map()), table).toEqual(Object.fromEntries(rows));
    }
  });
});
