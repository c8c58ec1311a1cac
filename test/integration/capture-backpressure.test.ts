import { describe, expect, it } from 'vitest';
import { parseChangeEvent, recordKind } from '../../contracts/change-event.js';
import { CaptureStats } from '../../capture/reporting/capture-status.js';
import { PgLogicalReplicationStream } from '../../capture/replication/pg-logical-replication-stream.js';
import { ReplicationSession, type SessionEnd } from '../../capture/replication/replication-session.js';
import { runCapture } from '../../capture/run-capture.js';
import { silentLogger } from '../../platform/logger.js';
import { parseLsn } from '../../contracts/lsn.js';
import { RecordingWriter } from '../support/capture-recorder.js';
import { GatedWriter } from '../support/gated-writer.js';
import { withClient } from '../support/postgres.js';
import { INSERT_SALES_ORDERS } from '../support/totesys-source.js';
import { waitFor } from '../support/wait-for.js';
import { useCaptureSource } from '../support/capture-source.js';

const ROWS = 20_000;
const names = { slotName: 'cap_backpressure', publicationName: 'cap_backpressure' };

/**
 * Backpressure without the library's flowControl (replication-session.ts): when the publisher is
 * full the session must stop reading the replication socket, not park the rest of the transaction
 * in memory, and once the stream accepts again it must go on in WAL order without loss.
 */
describe('capture: backpressure from a stalled stream', () => {
  const source = useCaptureSource('capture backpressure');

  it('stops reading WAL while the stream is stalled, then delivers every change in order', async () => {
    const lsnNow = async () => withClient(source.url, async (c) => (await c.query('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string);
    // Slot, publication and initial snapshot, as capture sets them up.
    await runCapture({
      sourceUrl: source.url,
      config: { capture: { ...names, replicaIdentityFull: true, heartbeatIntervalMs: 500 } },
      writer: new RecordingWriter(),
      logger: silentLogger,
      stopAtLsn: await lsnNow(),
    });
    await withClient(source.url, async (c) => {
      await c.query('BEGIN');
      await c.query('SET LOCAL session_replication_role = replica');
      await c.query(INSERT_SALES_ORDERS, [ROWS]);
      await c.query('COMMIT');
    });
    const endLsn = await lsnNow();
    const confirmed = await withClient(source.url, async (c) => (await c.query('SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1', [names.slotName])).rows[0].l as string);

    const writer = new GatedWriter({ shut: true });
    const session = new ReplicationSession({
      stream: new PgLogicalReplicationStream({ connectionString: source.url, ...names }),
      writer,
      logger: silentLogger,
      stats: new CaptureStats(names.slotName, names.publicationName),
      resumeFrom: parseLsn(confirmed),
      stopAtLsn: parseLsn(endLsn),
      publisher: { maxBatchRecords: 10, maxInFlightEvents: 50, flushIntervalMs: 5 },
    });
    const received = () => session.receivedMessages;
    let ended: SessionEnd | undefined;
    const running = session.run().then((end) => (ended = end));
    try {
      await waitFor(() => writer.puts > 0, { what: 'the first put', timeoutMs: 20_000 });
      // Postgres decodes and sends the whole transaction in well under this time when nobody
      // stops reading (the ~20k messages would all be parked in memory).
      await new Promise((r) => setTimeout(r, 1_500));
      const receivedWhileStalled = received();
      // In flight (50) + what one socket read had already delivered when reading paused.
      expect(receivedWhileStalled).toBeGreaterThan(50);
      expect(receivedWhileStalled).toBeLessThan(2_000);
      expect(ended).toBeUndefined();
    } finally {
      writer.release();
    }
    await running;
    expect(ended).toMatchObject({ reason: 'stop-lsn-reached' });
    const created = writer.records.map((r) => Buffer.from(r.data).toString('utf8')).filter((t) => recordKind(t) === 'change').map((t) => parseChangeEvent(t)).filter((e) => e.op === 'c');
    expect(created).toHaveLength(ROWS);
    const commitLsn = created[0].source.commitLsn;
    expect(created.map((e) => e.id)).toEqual(Array.from({ length: ROWS }, (_, i) => `${commitLsn}/${i}`));
    expect(received()).toBeGreaterThanOrEqual(ROWS + 2);
  }, 40_000);
});
