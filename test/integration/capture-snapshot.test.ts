import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { bridgeSlotName, readSlot, readSnapshotMarker } from '../../capture/control/replication-setup.js';
import { runCapture } from '../../capture/run-capture.js';
import { readSlotStatus } from '../../capture/control/slot-status.js';
import type { SnapshotProgress } from '../../capture/snapshot/initial-snapshot.js';
import { parseLsn } from '../../contracts/lsn.js';
import { silentLogger } from '../../platform/logger.js';
import { withClient } from '../support/postgres.js';
import { applyEvents, assertPerKeyOrder, RecordingWriter } from '../support/capture-recorder.js';
import { INSERT_SALES_ORDERS, readSourceState } from '../support/totesys-source.js';
import { waitFor } from '../support/wait-for.js';
import { waitForCaptureToCatchUp } from '../support/capture-catch-up.js';
import { abandonSnapshotAfter as abandonSnapshotAfterRows, useCaptureSource } from '../support/capture-source.js';

const capture = { slotName: 'cap_snap', publicationName: 'cap_snap', replicaIdentityFull: true, heartbeatIntervalMs: 500 };

/** A write load on sales_order: inserts, updates and deletes in small transactions. */
function startWriteLoad(url: string) {
  let stop = false;
  let statements = 0;
  const done = (async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      for (let i = 0; !stop && i < 100_000; i++) {
        const id = 1 + Math.floor(Math.random() * 20_000);
        if (i % 3 === 0) await c.query(INSERT_SALES_ORDERS, [3]);
        else if (i % 3 === 1) await c.query('UPDATE sales_order SET units_sold = units_sold + 1, unit_price = unit_price + 0.01 WHERE sales_order_id = $1', [id]);
        else await c.query('DELETE FROM sales_order WHERE sales_order_id = $1', [id]);
        statements++;
      }
    } finally {
      await c.end();
    }
  })();
  return { stop: async () => ((stop = true), await done), count: () => statements };
}

describe('capture: initial snapshot under a concurrent write load', () => {
  const writer = new RecordingWriter();

  const source = useCaptureSource('capture snapshot', { salesOrders: 20_000 });

  it('snapshot + stream == final table state, without duplicates or gaps', async () => {
    const load = startWriteLoad(source.url);
    await waitFor(() => load.count() > 50, { what: 'write load' });
    const abort = new AbortController();
    const progress: SnapshotProgress[] = [];
    const running = runCapture({
      sourceUrl: source.url,
      config: { capture },
      writer,
      logger: silentLogger,
      signal: abort.signal,
      snapshotBatchRows: 1000,
      onSnapshotProgress: (p) => progress.push(p),
    });
    await waitFor(() => progress.some((p) => p.table === 'payment'), { what: 'snapshot to finish', timeoutMs: 30_000 });
    const duringSnapshot = load.count();
    await new Promise((r) => setTimeout(r, 1000));
    await load.stop();
    expect(load.count()).toBeGreaterThan(duringSnapshot); // writes really overlapped the capture

    await waitForCaptureToCatchUp(source.url, capture);
    abort.abort();
    const result = await running;
    expect(result.snapshotTaken).toBe(true);

    const events = writer.events();
    const ids = events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    const snapshotLsns = new Set(events.filter((e) => e.op === 'r').map((e) => e.source.lsn));
    expect(snapshotLsns.size).toBe(1);
    const sales = progress.filter((p) => p.table === 'sales_order');
    expect(sales.at(-1)!.rows).toBeGreaterThan(19_000);
    expect(sales.at(-1)!.totalRows).toBeGreaterThan(0);

    // No overlap: every streamed change commits after the snapshot point.
    const snapshotLsn = parseLsn([...snapshotLsns][0]);
    for (const e of events) if (e.op !== 'r') expect(parseLsn(e.source.commitLsn) > snapshotLsn).toBe(true);

    const expected = await readSourceState(source.url);
    const actual = applyEvents(events);
    for (const [table, rows] of expected) {
      expect(actual.get(table)?.size, table).toBe(rows.size);
      expect(Object.fromEntries(actual.get(table)!)).toEqual(Object.fromEntries(rows));
    }
  });

  it('resumes from the slot without a second snapshot and stops at stopAtLsn', async () => {
    const before = writer.events().length;
    await withClient(source.url, (c) => c.query(INSERT_SALES_ORDERS, [25]));
    const { lsn } = await withClient(source.url, async (c) => (await c.query('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]);
    const result = await runCapture({ sourceUrl: source.url, config: { capture }, writer, logger: silentLogger, stopAtLsn: lsn });
    expect(result).toMatchObject({ reason: 'stop-lsn-reached', snapshotTaken: false });
    const added = writer.events().slice(before);
    expect(added.filter((e) => e.op === 'c')).toHaveLength(25);
    expect(added.some((e) => e.op === 'r')).toBe(false);
    expect(parseLsn(result.confirmedLsn!) >= parseLsn(lsn)).toBe(true);
  });
});

describe('capture: a snapshot abandoned half way is redone without leaving deleted rows behind', () => {
  const writer = new RecordingWriter();
  const names = { slotName: 'cap_resnap', publicationName: 'cap_resnap' };
  const config = { capture: { ...names, replicaIdentityFull: true, heartbeatIntervalMs: 500 } };

  const source = useCaptureSource('capture resnapshot', { salesOrders: 6000 });

  const abandonSnapshotAfter = (rows: number) => abandonSnapshotAfterRows({ sourceUrl: source.url, config, writer, logger: silentLogger }, rows);

  /** Ids of sales orders published as snapshot rows so far, per snapshot LSN. */
  function snapshotIds(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const e of writer.events()) {
      if (e.op !== 'r' || e.table !== 'sales_order') continue;
      out.set(e.source.lsn, [...(out.get(e.source.lsn) ?? []), Number(e.key.sales_order_id)]);
    }
    return out;
  }

  it('bridges the changes between the two snapshots, also when the second one is abandoned too', async () => {
    await abandonSnapshotAfter(1000);
    const [firstIds] = [...snapshotIds().values()];
    expect(firstIds.length).toBeGreaterThanOrEqual(500); // some of the last batch may not have been published
    expect(firstIds.length).toBeLessThan(6000);
    // Rows the abandoned snapshot published are deleted or updated before the next start.
    await withClient(source.url, async (c) => {
      await c.query('DELETE FROM sales_order WHERE sales_order_id = ANY($1)', [firstIds.slice(0, 300)]);
      await c.query('UPDATE sales_order SET units_sold = units_sold + 7 WHERE sales_order_id = ANY($1)', [firstIds.slice(300, 400)]);
    });

    // Writes go on from here to the end: while the second start bridges and snapshots, and the third.
    const load = startWriteLoad(source.url);
    await waitFor(() => load.count() > 50, { what: 'write load' });
    await abandonSnapshotAfter(2000);
    const bridge = bridgeSlotName(names.slotName);
    const bridgeSlot = await withClient(source.url, (c) => readSlot(c, bridge));
    expect(bridgeSlot, 'the bridge slot outlives an abandoned snapshot').not.toBeNull();
    // It confirmed no further than the second snapshot's start: the transactions after it are the
    // (now dropped) second slot's, so a third start must find them in the bridge again.
    const secondSnapshotLsn = [...snapshotIds().keys()][1];
    expect((await readSlotStatus(source.url, names.slotName, names.publicationName)).bridge).toMatchObject({ slotName: bridge, active: false });
    expect(parseLsn(bridgeSlot!.confirmedFlushLsn!) <= parseLsn(secondSnapshotLsn)).toBe(true);
    const deletedByBridge = new Set(writer.events().filter((e) => e.op === 'd').map((e) => Number(e.key.sales_order_id)));
    expect(firstIds.slice(0, 300).filter((id) => !deletedByBridge.has(id))).toEqual([]);
    await withClient(source.url, (c) => c.query('DELETE FROM sales_order WHERE sales_order_id = ANY($1)', [firstIds.slice(400, 500)]));

    const abort = new AbortController();
    const progress: SnapshotProgress[] = [];
    const running = runCapture({ sourceUrl: source.url, config, writer, logger: silentLogger, signal: abort.signal, snapshotBatchRows: 500, onSnapshotProgress: (p) => progress.push(p) });
    await waitFor(() => progress.some((p) => p.table === 'payment'), { what: 'snapshot to finish', timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 500));
    await load.stop();
    await waitForCaptureToCatchUp(source.url, names);
    abort.abort();
    expect((await running).snapshotTaken).toBe(true);

    expect(snapshotIds().size).toBe(3);
    await withClient(source.url, async (c) => {
      expect(await readSlot(c, bridge), 'the bridge slot is dropped with the completed snapshot').toBeNull();
      expect((await readSlotStatus(source.url, names.slotName, names.publicationName)).bridge).toBeUndefined();
      expect(await readSnapshotMarker(c, names.publicationName)).toMatchObject({ state: 'complete', slotName: names.slotName });
    });
    const events = writer.events();
    assertPerKeyOrder(events);
    const expected = await readSourceState(source.url);
    const actual = applyEvents(events);
    for (const [table, rows] of expected) expect(Object.fromEntries(actual.get(table) ?? new Map()), table).toEqual(Object.fromEntries(rows));
    expect(actual.get('sales_order')?.size).toBe(expected.get('sales_order')?.size);
  });
});
