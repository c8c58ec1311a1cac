import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotInUseError } from '../../capture/capture-errors.js';
import { dropCaptureObjects } from '../../capture/control/replication-setup.js';
import { runCapture, type CaptureResult } from '../../capture/run-capture.js';
import { readSlotStatus } from '../../capture/control/slot-status.js';
import { AuthenticationError } from '../../platform/errors.js';
import { createLogger, silentLogger } from '../../platform/logger.js';
import { parseLsn } from '../../contracts/lsn.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';
import { RecordingWriter } from '../support/capture-recorder.js';
import { createTotesysSchema, seedParents } from '../support/totesys-source.js';
import { waitFor } from '../support/wait-for.js';

const capture = { slotName: 'cap_fail', publicationName: 'cap_fail', replicaIdentityFull: true, heartbeatIntervalMs: 1000 };

describe('capture: failures and idle behaviour', () => {
  let db: TestDatabase;
  let other: TestDatabase;
  const abort = new AbortController();
  let running: Promise<CaptureResult>;
  const logLines: string[] = [];
  const writer = new RecordingWriter();

  beforeAll(async () => {
    db = await createTestDatabase('capture failures');
    other = await createTestDatabase('capture failures other');
    await createTotesysSchema(db.url);
    await seedParents(db.url);
    running = runCapture({
      sourceUrl: db.url,
      config: { capture },
      writer,
      logger: createLogger({ service: 'capture', level: 'warn', write: (l) => logLines.push(l) }),
      signal: abort.signal,
    });
    await waitFor(async () => (await readSlotStatus(db.url, capture.slotName)).active, { what: 'capture to stream' });
  });

  afterAll(async () => {
    abort.abort();
    await running?.catch(() => undefined);
    await db?.drop();
    await other?.drop();
  });

  it('an idle source does not grow slot lag, even while other databases write WAL', async () => {
    // WAL is shared by the cluster: writes elsewhere move pg_current_wal_lsn; heartbeats and idle
    // keepalives must keep confirmed_flush_lsn following it. Other test files write WAL into the
    // same cluster at the same time, so the check is about time, not bytes: the slot must have
    // confirmed every WAL position the cluster had reached a few heartbeats (1 s) earlier.
    await withClient(other.url, (c) => c.query('CREATE TABLE noise (x int)'));
    const walPositions: { at: number; lsn: bigint }[] = [];
    const deadline = Date.now() + 8_000;
    while (Date.now() < deadline) {
      await withClient(other.url, (c) => c.query('INSERT INTO noise SELECT generate_series(1, 2000)'));
      const { rows } = await withClient(other.url, (c) => c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'));
      walPositions.push({ at: Date.now(), lsn: parseLsn(rows[0]!.lsn) });
      await new Promise((r) => setTimeout(r, 400));
    }
    const status = await readSlotStatus(db.url, capture.slotName);
    const confirmed = parseLsn(status.confirmedFlushLsn!);
    const threeHeartbeatsAgo = walPositions.filter((p) => p.at <= Date.now() - 3_000).at(-1)!;
    expect(threeHeartbeatsAgo.lsn).toBeGreaterThan(walPositions[0]!.lsn); // the noise moved the WAL
    expect(confirmed).toBeGreaterThanOrEqual(threeHeartbeatsAgo.lsn);
    expect(status.walStatus).toBe('reserved');
  });

  it('a second capture on the same slot fails with a clear SlotInUseError (bounded wait)', async () => {
    const started = Date.now();
    const error = await runCapture({
      sourceUrl: db.url,
      config: { capture },
      writer: new RecordingWriter(),
      logger: silentLogger,
      slotBusyTimeoutMs: 1_500,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(SlotInUseError);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/replication slot "cap_fail" is in use by another process \(backend pid \d+\)/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('teardown refuses while the slot is active', async () => {
    await expect(dropCaptureObjects(db.url, capture)).rejects.toBeInstanceOf(SlotInUseError);
  });

  it('wrong password fails fast, without retrying', async () => {
    const url = new URL(db.url);
    url.password = 'wrong-password';
    const started = Date.now();
    const lines: string[] = [];
    const error = await runCapture({
      sourceUrl: url.toString(),
      config: { capture },
      writer: new RecordingWriter(),
      logger: createLogger({ service: 'capture', level: 'debug', write: (l) => lines.push(l) }),
    }).catch((e) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toMatch(/authentication to the source database failed/);
    expect(lines.some((l) => l.includes('reconnecting'))).toBe(false);
    expect(lines.join('\n')).not.toContain('wrong-password');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('turns a TRUNCATE into a reconcile record ("the table is empty here"), logs it, and keeps streaming', async () => {
    await withClient(db.url, async (c) => {
      await c.query('BEGIN');
      await c.query(`INSERT INTO currency (currency_code) VALUES ('XTS')`);
      await c.query('TRUNCATE payment');
      await c.query(`INSERT INTO currency (currency_code) VALUES ('XXX')`);
      await c.query('COMMIT');
    });
    await waitFor(() => writer.reconciles().some((r) => r.reason === 'truncate'), { what: 'truncate reconcile record' });
    expect(JSON.parse(logLines.find((l) => l.includes('TRUNCATE captured'))!)).toMatchObject({ level: 'warn', event: 'truncate-reconciled', tables: ['payment'] });
    const reconcile = writer.reconciles().find((r) => r.reason === 'truncate')!;
    const inserts = writer.events().filter((e) => e.table === 'currency' && e.op === 'c' && e.source.commitLsn === reconcile.lsn);
    // Its place in the transaction: after the first insert (position 0), before the second (2).
    expect(inserts.map((e) => e.id)).toEqual([`${reconcile.lsn}/0`, `${reconcile.lsn}/2`]);
    expect(reconcile).toMatchObject({ table: 'payment', seq: 1, keyAfter: null, keyTo: null, keys: [], shards: null, id: `truncate/payment/${reconcile.lsn}/1` });
    // The copy was put after every event before it, and the stream goes on.
    const order = writer.records.map((r) => Buffer.from(r.data).toString('utf8'));
    expect(order.findIndex((t) => t.includes('"reason":"truncate"'))).toBeGreaterThan(order.findIndex((t) => t.includes(`"id":"${reconcile.lsn}/0"`)));
    await withClient(db.url, (c) => c.query(`INSERT INTO currency (currency_code) VALUES ('XBT')`));
    await waitFor(() => writer.events().some((e) => e.table === 'currency' && (e.after as { currency_code?: string } | null)?.currency_code === 'XBT'), { what: 'streaming after the truncate' });
  });

  it('teardown drops slot and publication once capture stopped', async () => {
    abort.abort();
    await running;
    const { lsn } = await withClient(db.url, async (c) => (await c.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]);
    const before = await readSlotStatus(db.url, capture.slotName, capture.publicationName);
    expect(before).toMatchObject({ exists: true, active: false, snapshot: 'complete' });
    expect(parseLsn(before.confirmedFlushLsn!) <= parseLsn(lsn)).toBe(true);
    expect(await dropCaptureObjects(db.url, capture)).toEqual({ slotDropped: true, publicationDropped: true });
    expect(await dropCaptureObjects(db.url, capture)).toEqual({ slotDropped: false, publicationDropped: false });
    expect(await readSlotStatus(db.url, capture.slotName, capture.publicationName)).toMatchObject({ exists: false, snapshot: 'absent' });
  });
});
