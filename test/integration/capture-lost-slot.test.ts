import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSlotStatus } from '../../capture/control/slot-status.js';
import type { CaptureStatus } from '../../capture/reporting/capture-status.js';
import { loadConfig, type Config } from '../../platform/config.js';
import { createLogger, silentLogger } from '../../platform/logger.js';
import { ensureDatabase, startEmbeddedPostgres, type RunningPostgres } from '../../runtime/embedded-postgres.js';
import { captureStatusFile, readPipelineStatus } from '../../runtime/pipeline-status.js';
import { renderStatus } from '../../cli/commands/status-command.js';
import { syncPipeline, type SyncSummary } from '../../runtime/sync-pipeline.js';
import { createTotesysSchema, INSERT_SALES_ORDERS, seedParents } from '../support/totesys-source.js';
import { withClient } from '../support/postgres.js';

/**
 * Issue 14 item 4 on a real Postgres with a tiny max_slot_wal_keep_size: the slot is lost while
 * nobody captures (invalidated by Postgres, or dropped by someone), changes happen meanwhile, and
 * the next `sync` detects it, reports it, and recovers by re-reading the source: the warehouse
 * equals the source again, rows deleted while blind have exactly one `d` version, rows changed
 * while blind exactly one new version, unchanged rows none. A TRUNCATE goes the same way.
 */
describe('lost replication slot: detected, reported, recovered by re-reading and reconciling', () => {
  let dir: string;
  let server: RunningPostgres;
  let sourceUrl: string;
  let warehouseUrl: string;
  let config: Readonly<Config>;
  const sync = (): Promise<SyncSummary> => syncPipeline({ config, sourceUrl, warehouseUrl, logger: silentLogger });

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'capture-lost-slot-'));
    server = await startEmbeddedPostgres({
      dataDir: path.join(dir, 'pg'),
      logger: createLogger({ service: 'test-postgres', level: 'warn' }),
      // 1 MB: a slot more than a segment behind is invalidated at the next checkpoint.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_slot_wal_keep_size: '1MB' },
    });
    await ensureDatabase(server.url('postgres'), 'totesys');
    await ensureDatabase(server.url('postgres'), 'warehouse');
    sourceUrl = server.url('totesys');
    warehouseUrl = server.url('warehouse');
    await createTotesysSchema(sourceUrl);
    await seedParents(sourceUrl);
    await withClient(sourceUrl, async (c) => {
      // More than one snapshot chunk (5,000 rows): the recovery snapshot's reconciles must leave
      // every unchanged row alone across chunk bounds (a snapshot once read its chunks in the keys'
      // text order, and their ranges then deleted live rows).
      await c.query(INSERT_SALES_ORDERS, [5200]);
      await c.query(`INSERT INTO design (design_name, file_location, file_name) VALUES ('Wood', '/w', 'w.json'), ('Glass', '/g', 'g.json')`);
    });
    config = loadConfig({ stateDir: path.join(dir, 'state'), sourceUrl, warehouseUrl, heartbeatIntervalMs: 500, slotName: 'lost_slot', publicationName: 'lost_slot', logLevel: 'silent' }, {});
    const first = await sync();
    expect(first.capture.snapshotTaken).toBe(true);
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /** Fact versions per sales order id: "op,op,..." in version order. */
  async function salesOrderVersions(): Promise<Map<number, string[]>> {
    return withClient(warehouseUrl, async (wh) => {
      const { rows } = await wh.query<{ id: number; ops: string[] }>(
        `SELECT sales_order_id AS id, array_agg(op ORDER BY source_lsn, source_seq) AS ops FROM star.fact_sales_order GROUP BY sales_order_id`,
      );
      return new Map(rows.map((r) => [r.id, r.ops]));
    });
  }

  async function expectWarehouseEqualsSource(): Promise<void> {
    const [source, current, designs] = await Promise.all([
      withClient(sourceUrl, async (c) => (await c.query(`SELECT sales_order_id AS id, units_sold FROM sales_order ORDER BY 1`)).rows),
      withClient(warehouseUrl, async (c) => (await c.query(`SELECT sales_order_id AS id, units_sold FROM star.fact_sales_order_current ORDER BY 1`)).rows),
      withClient(warehouseUrl, async (c) => (await c.query(`SELECT design_id AS id FROM star.dim_design WHERE NOT is_deleted ORDER BY 1`)).rows.map((r) => r.id)),
    ]);
    expect(current).toEqual(source);
    const sourceDesigns = await withClient(sourceUrl, async (c) => (await c.query(`SELECT design_id AS id FROM design ORDER BY 1`)).rows.map((r) => r.id));
    expect(designs).toEqual(sourceDesigns);
  }

  /** Changes made while nobody captures: 5 updated, 6 deleted, 4 inserted sales orders, one design deleted. */
  async function changeWhileBlind(round: number): Promise<{ updated: number[]; deleted: number[] }> {
    return withClient(sourceUrl, async (c) => {
      const { rows: live } = await c.query<{ id: number }>('SELECT sales_order_id AS id FROM sales_order ORDER BY 1');
      const ids = live.map((r) => r.id);
      const updated = ids.slice(0, 5);
      const deleted = ids.slice(-6);
      await c.query('UPDATE sales_order SET units_sold = units_sold + $2 WHERE sales_order_id = ANY($1)', [updated, 1000 + round]);
      await c.query('DELETE FROM sales_order WHERE sales_order_id = ANY($1)', [deleted]);
      await c.query(INSERT_SALES_ORDERS, [4]);
      await c.query('DELETE FROM design WHERE design_id = (SELECT max(design_id) FROM design WHERE design_id <> 1)');
      return { updated, deleted };
    });
  }

  async function expectRecovered(before: Map<number, string[]>, blind: { updated: number[]; deleted: number[] }): Promise<void> {
    await expectWarehouseEqualsSource();
    const after = await salesOrderVersions();
    for (const id of blind.deleted) expect(after.get(id), `deleted while blind: ${id}`).toEqual([...before.get(id)!, 'd']);
    for (const id of blind.updated) expect(after.get(id)?.length, `changed while blind: ${id} gets one new version`).toBe(before.get(id)!.length + 1);
    for (const [id, ops] of before) {
      if (!blind.updated.includes(id) && !blind.deleted.includes(id)) expect(after.get(id), `unchanged: ${id} gets nothing`).toEqual(ops);
    }
    const added = [...after.keys()].filter((id) => !before.has(id));
    expect(added).toHaveLength(4);
    for (const id of added) expect(after.get(id)).toEqual(['r']);
  }

  it('a slot invalidated past max_slot_wal_keep_size (wal_status lost) is detected, shown by status, and recovered', async () => {
    const before = await salesOrderVersions();
    const blind = await changeWhileBlind(1);
    // Push the slot past max_slot_wal_keep_size: a few segment switches, then a checkpoint.
    await withClient(sourceUrl, async (c) => {
      for (let i = 0; i < 4; i++) {
        await c.query(`UPDATE currency SET last_updated = now() WHERE currency_id = 1`);
        await c.query('SELECT pg_switch_wal()');
      }
      await c.query('CHECKPOINT');
    });
    const lostStatus = await readSlotStatus(sourceUrl, 'lost_slot', 'lost_slot');
    expect(lostStatus).toMatchObject({ exists: true, walStatus: 'lost', lost: 'invalidated' });
    const shown = () => readPipelineStatus(config as Config, { sourceUrl, warehouseUrl }, silentLogger).then(renderStatus);
    expect(await shown()).toMatch(/slot {8}lost_slot: LOST \(invalidated/);

    const second = await sync();
    expect(second.capture.snapshotTaken).toBe(true);
    expect(second.loader.failures).toBe(0);
    const status = JSON.parse(await fs.readFile(captureStatusFile(config), 'utf8')) as CaptureStatus;
    expect(status.slotLosses).toBe(1);
    expect(status.slotLost).toMatchObject({ reason: 'invalidated', recovery: 'resnapshot' });
    expect(status.slotLost?.recoveredAt).toEqual(expect.any(String));
    expect(await readSlotStatus(sourceUrl, 'lost_slot', 'lost_slot')).toMatchObject({ exists: true, lost: null, snapshot: 'complete' });
    expect(await shown()).toMatch(/slot lost \(invalidated\) at .*recovered at/);
    await expectRecovered(before, blind);
  });

  it('a slot dropped by someone (or missing after a restore or failover) is detected and recovered the same way', async () => {
    const before = await salesOrderVersions();
    const blind = await changeWhileBlind(2);
    await withClient(sourceUrl, (c) => c.query('SELECT pg_drop_replication_slot($1)', ['lost_slot']));
    expect(await readSlotStatus(sourceUrl, 'lost_slot', 'lost_slot')).toMatchObject({ exists: false, lost: 'missing' });

    const second = await sync();
    expect(second.capture.snapshotTaken).toBe(true);
    const status = JSON.parse(await fs.readFile(captureStatusFile(config), 'utf8')) as CaptureStatus;
    expect(status.slotLost).toMatchObject({ reason: 'missing' });
    await expectRecovered(before, blind);

    // Streaming again from the new slot: a plain change is one version, nothing re-read.
    const recovered = await salesOrderVersions();
    await withClient(sourceUrl, (c) => c.query('UPDATE sales_order SET units_sold = 7 WHERE sales_order_id = (SELECT min(sales_order_id) FROM sales_order)'));
    const third = await sync();
    expect(third.capture.snapshotTaken).toBe(false);
    const after = await salesOrderVersions();
    const changed = [...after].filter(([id, ops]) => ops.join() !== recovered.get(id)?.join());
    expect(changed).toEqual([[changed[0]?.[0], [...recovered.get(changed[0]?.[0])!, 'u']]]);
  });

  it('a TRUNCATE gives every row of the table a delete version, and rows inserted after it in the same transaction stay', async () => {
    const before = await salesOrderVersions();
    const inserted = await withClient(sourceUrl, async (c) => {
      await c.query('BEGIN');
      await c.query('TRUNCATE sales_order CASCADE');
      const { rows } = await c.query<{ id: number }>(`${INSERT_SALES_ORDERS} RETURNING sales_order_id AS id`, [3]);
      await c.query('COMMIT');
      return rows.map((r) => r.id);
    });
    const summary = await sync();
    expect(summary.loader.failures).toBe(0);
    await expectWarehouseEqualsSource();
    const after = await salesOrderVersions();
    for (const [id, ops] of before) {
      const live = ops[ops.length - 1] !== 'd';
      expect(after.get(id), `sales order ${id}`).toEqual(live ? [...ops, 'd'] : ops);
    }
    for (const id of inserted) expect(after.get(id)).toEqual(['c']);
  });
});
