import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSlot } from '../../capture/control/replication-setup.js';
import { runCapture } from '../../capture/run-capture.js';
import { createLogger } from '../../platform/logger.js';
import { SOURCE_TABLES } from '../../contracts/source-tables.js';
import { applyEvents, assertPerKeyOrder, RecordingWriter } from '../support/capture-recorder.js';
import { waitForCaptureToCatchUp } from '../support/capture-catch-up.js';
import { createTestDatabase, type TestDatabase, withAdmin, withClient } from '../support/postgres.js';
import { createTotesysSchema, INSERT_SALES_ORDERS, readSourceState, seedParents } from '../support/totesys-source.js';

/**
 * A capture user that may not call pg_logical_emit_message (the heartbeat): capture warns once and
 * confirms on the walsender's keepalives instead, also when it redoes an abandoned snapshot, whose
 * bridge slot must then find its end without a heartbeat.
 */
describe('capture without permission to emit heartbeats', () => {
  let db: TestDatabase;
  const role = `cap_nohb_${randomBytes(3).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  let roleUrl: string;
  const names = { slotName: 'cap_nohb', publicationName: 'cap_nohb' };
  const config = { capture: { ...names, replicaIdentityFull: true, heartbeatIntervalMs: 200 } };
  const writer = new RecordingWriter();
  const logLines: string[] = [];
  const logger = createLogger({ service: 'capture', level: 'warn', write: (line) => logLines.push(line) });

  beforeAll(async () => {
    db = await createTestDatabase('capture no heartbeat');
    await createTotesysSchema(db.url);
    await seedParents(db.url);
    await withClient(db.url, (c) => c.query(INSERT_SALES_ORDERS, [4000]));
    await withClient(db.url, async (c) => {
      // Owner of the tables (publication, replica identity) with REPLICATION, but no superuser.
      await c.query(`CREATE ROLE ${role} LOGIN REPLICATION PASSWORD '${password}'`);
      await c.query(`GRANT CREATE ON DATABASE ${c.escapeIdentifier(db.name)} TO ${role}`);
      for (const table of SOURCE_TABLES) await c.query(`ALTER TABLE ${c.escapeIdentifier(table)} OWNER TO ${role}`);
      // Function privileges are per database: this changes nothing for the other tests' databases.
      const { rows } = await c.query<{ fn: string }>(`SELECT oid::regprocedure::text AS fn FROM pg_proc WHERE proname = 'pg_logical_emit_message'`);
      for (const { fn } of rows) await c.query(`REVOKE EXECUTE ON FUNCTION ${fn} FROM PUBLIC`);
    });
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    roleUrl = url.toString();
  });
  afterAll(async () => {
    await db?.drop();
    await withAdmin((c) => c.query(`DROP ROLE IF EXISTS ${role}`));
  });

  it('warns once, confirms on keepalives, and redoes an abandoned snapshot through the bridge', async () => {
    await expect(withClient(roleUrl, (c) => c.query("SELECT pg_logical_emit_message(false, 'x', 'y')"))).rejects.toThrow(/permission denied/);

    // First start: abandoned during its snapshot.
    const first = new AbortController();
    await runCapture({
      sourceUrl: roleUrl,
      config,
      writer,
      logger,
      signal: first.signal,
      snapshotBatchRows: 500,
      onSnapshotProgress: (p) => p.table === 'sales_order' && p.rows >= 1000 && first.abort(),
    });
    const published = writer.events().filter((e) => e.table === 'sales_order').map((e) => Number(e.key.sales_order_id));
    expect(published.length).toBeGreaterThanOrEqual(500);
    await withClient(db.url, (c) => c.query('DELETE FROM sales_order WHERE sales_order_id = ANY($1)', [published.slice(0, 200)]));

    // Second start on an idle source: the bridge and then the slot confirm on keepalives alone.
    const second = new AbortController();
    const running = runCapture({ sourceUrl: roleUrl, config, writer, logger, signal: second.signal, snapshotBatchRows: 500 });
    await waitForCaptureToCatchUp(db.url, names, { what: 'capture to catch up without heartbeats', timeoutMs: 40_000 });
    await withClient(db.url, (c) => c.query(INSERT_SALES_ORDERS, [5]));
    await waitForCaptureToCatchUp(db.url, names, { what: 'a later commit to be confirmed without heartbeats', timeoutMs: 40_000 });
    second.abort();
    expect((await running).snapshotTaken).toBe(true);

    expect(await withClient(db.url, (c) => readSlot(c, `${names.slotName}_bridge`))).toBeNull();
    const heartbeatWarnings = logLines.filter((line) => line.includes('heartbeat failed'));
    // At most one per run (the first run may have been stopped before its first heartbeat).
    expect(heartbeatWarnings.length).toBeGreaterThanOrEqual(1);
    expect(heartbeatWarnings.length).toBeLessThanOrEqual(2);
    expect(heartbeatWarnings[0]).toContain('keepalives');
    const events = writer.events();
    expect(new Set(events.filter((e) => e.op === 'r').map((e) => e.source.lsn)).size, 'the snapshot was redone').toBe(2);
    assertPerKeyOrder(events);
    const expected = await readSourceState(db.url);
    const actual = applyEvents(events);
    for (const [table, rows] of expected) expect(Object.fromEntries(actual.get(table) ?? new Map()), table).toEqual(Object.fromEntries(rows));
  });
});
