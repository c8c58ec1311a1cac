import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestResnapshot } from '../../cli/commands/resnapshot-command.js';
import { readPublicationComment } from '../../capture/control/publication-comment.js';
import { parseJobLines } from '../../capture/control/resnapshot-jobs.js';
import { readSnapshotMarker } from '../../capture/control/replication-setup.js';
import type { CaptureStatus } from '../../capture/reporting/capture-status.js';
import { loadConfig, type Config } from '../../platform/config.js';
import { silentLogger } from '../../platform/logger.js';
import { captureStatusFile } from '../../runtime/pipeline-status.js';
import { syncPipeline } from '../../runtime/sync-pipeline.js';
import { killCaptureChildren, spawnCaptureChild } from '../support/capture-child-process.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';
import { createTotesysSchema, INSERT_SALES_ORDERS, seedParents } from '../support/totesys-source.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Issue 14 leftover 2: a `resnapshot --table` job survives a capture killed half way. The request
 * and its progress (the last completed chunk's key) live in the source (the publication's
 * comment); the next capture (here `sync`'s) resumes after that chunk and completes the job: the
 * rows the source lost behind the pipeline's back in the chunks not yet read get their delete
 * version, a lost warehouse row comes back, and no row gets a version it should not.
 */
describe('resnapshot --table resumes after the capture is killed', () => {
  let source: TestDatabase;
  let warehouse: TestDatabase;
  let stateDir: string;
  let config: Readonly<Config>;
  let slotName: string;
  const sync = () => syncPipeline({ config, sourceUrl: source.url, warehouseUrl: warehouse.url, logger: silentLogger });

  beforeAll(async () => {
    [source, warehouse] = await Promise.all([createTestDatabase('resnapshot resume source'), createTestDatabase('resnapshot resume warehouse')]);
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'resnapshot-resume-'));
    slotName = `resume_${randomBytes(4).toString('hex')}`;
    config = loadConfig({ stateDir, sourceUrl: source.url, warehouseUrl: warehouse.url, heartbeatIntervalMs: 500, slotName, publicationName: slotName, logLevel: 'silent' }, {});
    await createTotesysSchema(source.url);
    await seedParents(source.url);
    await withClient(source.url, (c) => c.query(INSERT_SALES_ORDERS, [2_500]));
    await sync();
  });

  afterAll(async () => {
    killCaptureChildren();
    await source?.drop();
    await warehouse?.drop();
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  const versions = () =>
    withClient(warehouse.url, async (wh) => {
      const { rows } = await wh.query<{ id: number; ops: string[] }>(`SELECT sales_order_id AS id, array_agg(op ORDER BY source_lsn, source_seq) AS ops FROM star.fact_sales_order GROUP BY 1`);
      return new Map(rows.map((r) => [r.id, r.ops]));
    });
  const jobs = () => withClient(source.url, async (c) => parseJobLines((await readPublicationComment(c, slotName))!));

  it('a capture SIGKILLed mid-resnapshot: the next one resumes after the last completed chunk; the warehouse is right', async () => {
    // Damage behind the pipeline's back, in chunks the killed capture will not reach: sales order
    // 2400 lost its version; 999999 (never in the source) and 2450 (deleted in the source without a
    // delete reaching the pipeline: here, in the warehouse only) must get a delete version.
    await withClient(warehouse.url, async (wh) => {
      await wh.query('DELETE FROM star.fact_sales_order WHERE sales_order_id = 2400');
      await wh.query(
        `INSERT INTO star.fact_sales_order (sales_order_id, created_date, created_time, last_updated_date, last_updated_time, sales_staff_id, counterparty_id, units_sold, unit_price, currency_id, design_id, agreed_payment_date, agreed_delivery_date, agreed_delivery_location_id, event_id, op, source_lsn, source_seq, commit_ts)
         SELECT 999999, created_date, created_time, last_updated_date, last_updated_time, sales_staff_id, counterparty_id, units_sold, unit_price, currency_id, design_id, agreed_payment_date, agreed_delivery_date, agreed_delivery_location_id, 'stray', 'c', source_lsn, source_seq, commit_ts
           FROM star.fact_sales_order WHERE sales_order_id = 11`,
      );
    });
    const before = await versions();
    const { persisted } = await requestResnapshot(source.url, 'sales_order', 'resume-1', slotName);
    expect(persisted).toBe(true);
    const requestLsn = await withClient(source.url, async (c) => (await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn);

    // A capture with 100-row chunks, killed once it has completed a few of the 26 chunks.
    const statusFile = path.join(stateDir, 'killed-capture-status.json');
    const { child, exited } = spawnCaptureChild({
      CAPTURE_SOURCE_URL: source.url,
      CAPTURE_SLOT: slotName,
      CAPTURE_WRITER: 'local-log',
      CAPTURE_OUT: config.paths.streamLog,
      CAPTURE_STATUS_FILE: statusFile,
      CAPTURE_HEARTBEAT_MS: '500',
      CAPTURE_RESNAPSHOT_CHUNK_ROWS: '100',
    });
    await waitFor(async () => (await jobs()).find((j) => j.requestId === 'resume-1' && j.chunks >= 4), { timeoutMs: 60_000, intervalMs: 20, what: 'four completed chunks recorded in the source' });
    child.kill('SIGKILL');
    await exited;
    const atKill = (await jobs()).find((j) => j.requestId === 'resume-1')!;
    expect(atKill).toMatchObject({ state: 'running', table: 'sales_order' });
    expect(atKill.chunks).toBeLessThan(20);
    expect(atKill.keyAfter).toBe(atKill.chunks * 100);
    // The request itself is behind the slot's confirmed position: no capture will see it again.
    const confirmedPastRequest = await withClient(source.url, async (c) => (await c.query<{ past: boolean }>('SELECT confirmed_flush_lsn >= $2::pg_lsn AS past FROM pg_replication_slots WHERE slot_name = $1', [slotName, requestLsn])).rows[0]!.past);
    expect(confirmedPastRequest).toBe(true);

    const summary = await sync(); // its capture resumes the job and finishes it before stopping
    expect(summary.loader.failures).toBe(0);
    const [sourceRows, current] = await Promise.all([
      withClient(source.url, async (c) => (await c.query('SELECT sales_order_id AS id, units_sold FROM sales_order ORDER BY 1')).rows),
      withClient(warehouse.url, async (c) => (await c.query('SELECT sales_order_id AS id, units_sold FROM star.fact_sales_order_current ORDER BY 1')).rows),
    ]);
    expect(current).toEqual(sourceRows);
    const after = await versions();
    expect(after.get(2400), 'a lost row in a chunk after the kill comes back as one r').toEqual(['r']);
    expect(after.get(999999), 'a row the source does not have gets one d').toEqual(['c', 'd']);
    for (const [id, ops] of before) if (id !== 999999) expect(after.get(id), `sales order ${id}: no extra version`).toEqual(ops);

    const status = JSON.parse(await fs.readFile(captureStatusFile(config), 'utf8')) as CaptureStatus;
    expect(status.resnapshots).toEqual([expect.objectContaining({ requestId: 'resume-1', state: 'done', rowsRead: 2_500, resumes: 1 })]);
    expect((await jobs()).find((j) => j.requestId === 'resume-1')).toMatchObject({ state: 'done' });
    // The marker line (first line of the same comment) is intact.
    expect(await withClient(source.url, (c) => readSnapshotMarker(c, slotName))).toMatchObject({ state: 'complete', slotName });

    // A later sync (the request is long confirmed, the job is done) re-reads nothing.
    await sync();
    expect(await versions()).toEqual(after);
  }, 240_000);
});
