import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureStatus } from '../../capture/reporting/capture-status.js';
import { runCapture } from '../../capture/run-capture.js';
import { readSlotStatus } from '../../capture/control/slot-status.js';
import { createLogger } from '../../platform/logger.js';
import { ensureDatabase, startEmbeddedPostgres, type RunningPostgres } from '../../runtime/embedded-postgres.js';
import { applyEvents, assertPerKeyOrder, RecordingWriter } from '../support/capture-recorder.js';
import { createTotesysSchema, INSERT_SALES_ORDERS, readSourceState, seedParents } from '../support/totesys-source.js';
import { withClient } from '../support/postgres.js';
import { waitFor } from '../support/wait-for.js';
import { waitForCaptureToCatchUp } from '../support/capture-catch-up.js';

const events0 = (w: RecordingWriter) => w.events();

describe('capture: Postgres restart', () => {
  let dir: string;
  let server: RunningPostgres;
  const logger = createLogger({ service: 'test-postgres', level: 'warn' });
  const settings = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'capture-restart-'));
    server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), logger, settings });
  });
  afterAll(async () => {
    await server?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reconnects with backoff and resumes without loss', async () => {
    await ensureDatabase(server.url('postgres'), 'totesys');
    const url = server.url('totesys');
    await createTotesysSchema(url);
    await seedParents(url);
    const writer = new RecordingWriter();
    const abort = new AbortController();
    const statusFile = path.join(dir, 'capture-status.json');
    const running = runCapture({
      sourceUrl: url,
      config: { capture: { slotName: 'cap_restart', publicationName: 'cap_restart', replicaIdentityFull: true, heartbeatIntervalMs: 500 } },
      writer,
      logger: createLogger({ service: 'capture', level: 'error' }),
      signal: abort.signal,
      statusFile,
      statusIntervalMs: 200,
      reconnectMaxDelayMs: 1_000,
    });
    await waitFor(async () => (await readSlotStatus(url, 'cap_restart', 'cap_restart')).snapshot === 'complete', { what: 'snapshot' });
    await withClient(url, (c) => c.query(INSERT_SALES_ORDERS, [50]));
    await waitFor(() => writer.events().filter((e) => e.op === 'c').length >= 50, { what: 'first changes' });

    const port = server.port;
    await server.stop();
    await new Promise((r) => setTimeout(r, 1_500)); // capture retries against a stopped server
    server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), logger, settings, port });

    await withClient(url, async (c) => {
      await c.query(INSERT_SALES_ORDERS, [50]);
      await c.query('UPDATE sales_order SET units_sold = 0 WHERE sales_order_id <= 10');
      await c.query('DELETE FROM sales_order WHERE sales_order_id > 95');
    });
    await waitForCaptureToCatchUp(url, { slotName: 'cap_restart', publicationName: 'cap_restart' }, { what: 'capture to catch up after the restart' });
    // The status file is rewritten every 200 ms: the phase it shows may trail the catch-up by one write.
    const readStatus = async () => JSON.parse(await fs.readFile(statusFile, 'utf8')) as CaptureStatus;
    await waitFor(async () => (await readStatus()).phase === 'streaming', { what: 'status to show streaming again' });
    const status = await readStatus();
    abort.abort();
    await running;

    expect(status.reconnects).toBeGreaterThanOrEqual(1);
    expect(events0(writer).filter((e) => e.op === 'r')).toHaveLength(10); // resumed from the slot: no second snapshot
    expect(status.phase).toBe('streaming');
    const events = writer.events();
    assertPerKeyOrder(events);
    const expected = await readSourceState(url);
    const actual = applyEvents(events);
    for (const [table, rows] of expected) expect(Object.fromEntries(actual.get(table) ?? new Map()), table).toEqual(Object.fromEntries(rows));
    const final = JSON.parse(await fs.readFile(statusFile, 'utf8')) as CaptureStatus;
    expect(final).toMatchObject({ phase: 'stopped', slotName: 'cap_restart' });
    expect(final.eventsPublished).toBe(events.length);
  });
});
