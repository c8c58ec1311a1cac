import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureStatus } from '../../capture/reporting/capture-status.js';
import { runCapture } from '../../capture/run-capture.js';
import { silentLogger } from '../../platform/logger.js';
import type { ChangeStreamWriter, StreamRecord } from '../../stream/change-stream.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';
import { createTotesysSchema, INSERT_SALES_ORDERS, seedParents } from '../support/totesys-source.js';
import { waitFor } from '../support/wait-for.js';

/** Puts wait at a gate while it is closed: a stream that is slow to accept the last batch. */
class GatedWriter implements ChangeStreamWriter {
  readonly records: StreamRecord[] = [];
  puts = 0;
  private open = true;
  private waiting: (() => void)[] = [];

  async put(records: readonly StreamRecord[]): Promise<void> {
    this.puts++;
    if (!this.open) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.records.push(...records);
  }

  async close(): Promise<void> {}

  shut(): void {
    this.open = false;
  }

  release(): void {
    this.open = true;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

const names = { slotName: 'cap_stop_phase', publicationName: 'cap_stop_phase' };

/**
 * The lifecycle on a real stop (docs/capture-spec.md L3, L4, T1, T2): a stop request (SIGTERM in
 * the process) reports `stopping` at once, while the session still publishes what is queued, and
 * `stopped` once everything queued is durable and confirmed.
 */
describe('capture: the phase on a stop request', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase('capture stop phase');
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'capture-stop-phase-'));
    await createTotesysSchema(db.url);
    await seedParents(db.url);
  });
  afterAll(async () => {
    await db?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reports stopping while the last batch is published, then stopped with it confirmed', async () => {
    const statusFile = path.join(dir, 'capture-status.json');
    const readStatus = async () => JSON.parse(await fs.readFile(statusFile, 'utf8').catch(() => '{}')) as Partial<CaptureStatus>;
    const writer = new GatedWriter();
    const abort = new AbortController();
    const running = runCapture({
      sourceUrl: db.url,
      config: { capture: { ...names, replicaIdentityFull: true, heartbeatIntervalMs: 60_000 } },
      writer,
      logger: silentLogger,
      signal: abort.signal,
      statusFile,
      statusIntervalMs: 20,
    });
    try {
      await waitFor(async () => (await readStatus()).phase === 'streaming', { what: 'streaming', timeoutMs: 30_000 });
      writer.shut();
      const putsBefore = writer.puts;
      await withClient(db.url, (c) => c.query(INSERT_SALES_ORDERS, [5]));
      await waitFor(() => writer.puts > putsBefore, { what: 'a put of the new rows', timeoutMs: 20_000 });
      abort.abort();
      // The put is held: the session cannot have finished stopping, and the phase says so.
      await waitFor(async () => (await readStatus()).phase === 'stopping', { what: 'phase stopping', timeoutMs: 10_000 });
      expect(writer.records.filter((r) => Buffer.from(r.data).toString('utf8').includes('"op":"c"'))).toHaveLength(0);
    } finally {
      writer.release();
    }
    const result = await running;
    expect(result.reason).toBe('signal');
    const final = await readStatus();
    expect(final.phase).toBe('stopped');
    expect(writer.records.filter((r) => Buffer.from(r.data).toString('utf8').includes('"op":"c"'))).toHaveLength(5);
    // T1: what was published during the stop is confirmed before the capture let go of the slot.
    const confirmed = await withClient(db.url, async (c) => (await c.query('SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1', [names.slotName])).rows[0].l as string);
    expect(final.lastConfirmedLsn).toBe(confirmed);
  }, 60_000);
});
