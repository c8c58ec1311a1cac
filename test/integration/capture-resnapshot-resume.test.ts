import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requestResnapshot } from '../../cli/commands/resnapshot-command.js';
import { readPublicationComment } from '../../capture/control/publication-comment.js';
import { parseJobLines } from '../../capture/control/resnapshot-jobs.js';
import { readSnapshotMarker } from '../../capture/control/replication-setup.js';
import type { CaptureStatus } from '../../capture/reporting/capture-status.js';
import { captureStatusFile } from '../../runtime/pipeline-status.js';
import { killCaptureChildren, spawnCaptureChild } from '../support/capture-child-process.js';
import { withClient } from '../support/postgres.js';
import { damageSalesOrderFacts, expectSalesOrdersRepaired, salesOrderVersions, useSyncTestbed } from '../support/sync-testbed.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Issue 14 leftover 2: a `resnapshot --table` job survives a capture killed half way. The request
 * and its progress (the last completed chunk's key) live in the source (the publication's
 * comment); the next capture (here `sync`'s) resumes after that chunk and completes the job: the
 * rows the source lost behind the pipeline's back in the chunks not yet read get their delete
 * version, a lost warehouse row comes back, and no row gets a version it should not.
 */
describe('resnapshot --table resumes after the capture is killed', () => {
  const bed = useSyncTestbed('resnapshot resume', { slotPrefix: 'resume', salesOrders: 2_500, initialSync: true });
  const { sync } = bed;
  afterAll(() => killCaptureChildren());

  const jobs = () => withClient(bed.source.url, async (c) => parseJobLines((await readPublicationComment(c, bed.slotName))!));

  it('a capture SIGKILLed mid-resnapshot: the next one resumes after the last completed chunk; the warehouse is right', async () => {
    // Damage behind the pipeline's back, in chunks the killed capture will not reach: sales order
    // 2400 lost its version; 999999 (never in the source) must get a delete version.
    await damageSalesOrderFacts(bed.warehouse.url, 2400);
    const before = await salesOrderVersions(bed.warehouse.url);
    const { persisted } = await requestResnapshot(bed.source.url, 'sales_order', 'resume-1', bed.slotName);
    expect(persisted).toBe(true);
    const requestLsn = await withClient(bed.source.url, async (c) => (await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn);

    // A capture with 100-row chunks, killed once it has completed a few of the 26 chunks.
    const statusFile = path.join(bed.stateDir, 'killed-capture-status.json');
    const { child, exited } = spawnCaptureChild({
      CAPTURE_SOURCE_URL: bed.source.url,
      CAPTURE_SLOT: bed.slotName,
      CAPTURE_WRITER: 'local-log',
      CAPTURE_OUT: bed.config.paths.streamLog,
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
    const confirmedPastRequest = await withClient(bed.source.url, async (c) => (await c.query<{ past: boolean }>('SELECT confirmed_flush_lsn >= $2::pg_lsn AS past FROM pg_replication_slots WHERE slot_name = $1', [bed.slotName, requestLsn])).rows[0]!.past);
    expect(confirmedPastRequest).toBe(true);

    const summary = await sync(); // its capture resumes the job and finishes it before stopping
    expect(summary.loader.failures).toBe(0);
    await expectSalesOrdersRepaired(bed, { lostId: 2400, before });
    const after = await salesOrderVersions(bed.warehouse.url);

    const status = JSON.parse(await fs.readFile(captureStatusFile(bed.config), 'utf8')) as CaptureStatus;
    expect(status.resnapshots).toEqual([expect.objectContaining({ requestId: 'resume-1', state: 'done', rowsRead: 2_500, resumes: 1 })]);
    expect((await jobs()).find((j) => j.requestId === 'resume-1')).toMatchObject({ state: 'done' });
    // The marker line (first line of the same comment) is intact.
    expect(await withClient(bed.source.url, (c) => readSnapshotMarker(c, bed.slotName))).toMatchObject({ state: 'complete', slotName: bed.slotName });

    // A later sync (the request is long confirmed, the job is done) re-reads nothing.
    await sync();
    expect(await salesOrderVersions(bed.warehouse.url)).toEqual(after);
  }, 240_000);
});
