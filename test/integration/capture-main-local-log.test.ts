import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { CaptureStatus } from '../../capture/reporting/capture-status.js';
import { readSlotStatus } from '../../capture/control/slot-status.js';
import { parseChangeEvent, type ChangeEvent } from '../../contracts/change-event.js';
import { isWatermarkRecord } from '../../contracts/watermark.js';
import { isReconcileRecord } from '../../contracts/reconcile.js';
import { openLocalLog } from '../../stream/local-log/local-log.js';
import { applyEvents, assertPerKeyOrder } from '../support/capture-recorder.js';
import { spawnCaptureChild } from '../support/capture-child-process.js';
import { INSERT_SALES_ORDERS, readSourceState } from '../support/totesys-source.js';
import { waitFor } from '../support/wait-for.js';
import { waitForCaptureToCatchUp } from '../support/capture-catch-up.js';
import { useCaptureSource } from '../support/capture-source.js';

/** Every change event of the local log, per shard in order (per-key order lives within one shard); watermarks are skipped. */
async function readAllEvents(dir: string): Promise<ChangeEvent[]> {
  const consumer = await openLocalLog(dir, { shards: 4 }).consumer('capture-test');
  const events: ChangeEvent[] = [];
  try {
    for (let i = 0; i < 10_000; i++) {
      const shards = await consumer.read({ maxRecords: 5000, waitMs: 0 });
      if (shards.length === 0) break;
      for (const shard of shards) {
        for (const r of shard) if (!isWatermarkRecord(r.data) && !isReconcileRecord(r.data)) events.push(parseChangeEvent(Buffer.from(r.data).toString('utf8')));
      }
    }
  } finally {
    await consumer.close();
  }
  return events;
}

describe('capture/main.ts with the real local log', () => {
  const source = useCaptureSource('capture main', { salesOrders: 500, tempDir: true });

  it('fails with exit 1 and a clear message without TOTESYS_SOURCE_URL', async () => {
    const run = spawnCaptureChild({ TOTESYS_STATE_DIR: source.dir, TOTESYS_SOURCE_URL: '' }, 'capture/main.ts');
    expect(await run.exited).toBe(1);
    expect(run.stderr()).toContain('set TOTESYS_SOURCE_URL');
  });

  it('survives kill -9 under load: no loss, per-key order, SIGTERM exits 0', async () => {
    const env = {
      TOTESYS_SOURCE_URL: source.url,
      TOTESYS_STATE_DIR: source.dir,
      TOTESYS_SLOT_NAME: 'cap_main',
      TOTESYS_PUBLICATION_NAME: 'cap_main',
      TOTESYS_HEARTBEAT_INTERVAL_MS: '500',
      TOTESYS_LOG_LEVEL: 'warn',
    };
    let stopLoad = false;
    const load = (async () => {
      const c = new pg.Client({ connectionString: source.url });
      c.on('error', () => undefined); // a test that failed drops the database under it: its query rejects, no uncaught error
      await c.connect();
      for (let i = 0; !stopLoad && i < 50_000; i++) {
        await c.query('BEGIN');
        await c.query('UPDATE sales_order SET units_sold = units_sold + 1, unit_price = unit_price + 0.01 WHERE sales_order_id = $1', [1 + (i % 200)]);
        if (i % 3 === 0) await c.query(INSERT_SALES_ORDERS, [1]);
        if (i % 5 === 0) await c.query('DELETE FROM sales_order WHERE sales_order_id = (SELECT max(sales_order_id) FROM sales_order)');
        await c.query('COMMIT');
      }
      await c.end();
    })();
    load.catch(() => undefined); // awaited below; if the test fails first, its end is not an unhandled rejection
    const statusFile = path.join(source.dir, 'capture-status.json');
    for (let trial = 0; trial < 3; trial++) {
      const run = spawnCaptureChild(env, 'capture/main.ts');
      await waitFor(async () => (await readSlotStatus(source.url, 'cap_main')).active, { what: 'capture to stream', timeoutMs: 60_000 });
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 900));
      run.child.kill('SIGKILL');
      await run.exited;
    }
    stopLoad = true;
    await load;
    const last = spawnCaptureChild(env, 'capture/main.ts');
    await waitForCaptureToCatchUp(source.url, { slotName: 'cap_main', publicationName: 'cap_main' }, { what: 'final capture to catch up', timeoutMs: 120_000 });
    last.child.kill('SIGTERM');
    expect(await last.exited, last.stderr()).toBe(0);
    const status = JSON.parse(await fs.readFile(statusFile, 'utf8')) as CaptureStatus;
    expect(status).toMatchObject({ phase: 'stopped', slotName: 'cap_main' });

    const events = await readAllEvents(path.join(source.dir, 'stream'));
    expect(events.filter((e) => e.op === 'u').length).toBeGreaterThan(100);
    assertPerKeyOrder(events);
    const expected = await readSourceState(source.url);
    const actual = applyEvents(events);
    for (const [table, rows] of expected) expect(Object.fromEntries(actual.get(table) ?? new Map()), table).toEqual(Object.fromEntries(rows));
  }, 300_000);
});
