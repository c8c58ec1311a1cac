import { existsSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay, type ReplayProgress, type ReplaySummary } from '../../replay/replay.js';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { S3ObjectStore, createS3Client } from '../../bucket/s3-object-store.js';
import { silentLogger } from '../../platform/logger.js';
import { WAREHOUSE_TABLES } from '../../contracts/warehouse-model.js';
import { generateWorkload, putObject, rejectDesignNamesInWarehouse, workloadWithRejectedValue, writeArchive, type ArchivedEvent } from '../support/archive-workload.js';
import { startS3rver } from '../support/aws-emulators.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { tableContent } from '../support/warehouse-content.js';

/**
 * Processing lanes (replay/process/lanes.ts) on worker threads against the one lane on the calling
 * thread: same warehouse, same counts, same issue list, on an archive with every kind of line the
 * lanes must decide about (invalid lines whose validation the scan deferred, duplicates whose first
 * copy is invalid, non-canonical lines, joined and hashed tables, watermark records to skip); and
 * a failing lane leaves nothing behind.
 */
const threadCount = () => readdirSync('/proc/self/task').length;

const schemaNames = async (client: pg.Client) =>
  (await client.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'star%' ORDER BY 1`)).rows.map((r: { nspname: string }) => r.nspname);

/** A copy of `item` whose line is still in the canonical spelling but fails validation (a create without `after`). */
const deferredInvalid = (item: ArchivedEvent): ArchivedEvent => ({ ...item, text: item.text.replace(/"op":"."/, '"op":"c"').replace(/"after":\{[^}]*\}/, '"after":null') });
/** The same event spelled another way (keys reordered): the scan parses it, the merge only re-parses it. */
const nonCanonical = (item: ArchivedEvent): ArchivedEvent => {
  const { id, v, ...rest } = item.event;
  return { ...item, text: JSON.stringify({ id, ...rest, v }) };
};

const WATERMARK = '{"kind":"watermark","v":1,"ts":"2026-11-22T10:00:00.000Z","lsn":"0/16B3748","openShards":["shardId-000000000000"]}';

async function buildArchive(dir: string): Promise<{ ingestion: LocalDirObjectStore; events: ArchivedEvent[] }> {
  const events = generateWorkload(1500, { secondsBetweenTransactions: 10 });
  const ingestion = new LocalDirObjectStore(path.join(dir, 'ingestion'));
  const spelled = events.map((item, i) => (i % 7 === 3 ? nonCanonical(item) : item));
  await writeArchive(ingestion, spelled, 97);
  const late = events.at(-1)!.arrivalMs;
  // Re-archived copies (duplicates), an invalid copy archived BEFORE valid ones of the same events
  // (dedupe must keep the first valid one), invalid lines of every kind, one corrupt object.
  const payments = events.filter((e) => e.event.table === 'payment');
  const staff = events.filter((e) => e.event.table === 'staff');
  await putObject(ingestion, payments.slice(0, 40).map(deferredInvalid), events[0]!.arrivalMs - 1000);
  await putObject(ingestion, staff.slice(0, 5).map(deferredInvalid), events[0]!.arrivalMs - 1000);
  await putObject(ingestion, payments.slice(0, 120), late);
  await putObject(ingestion, staff.slice(0, 10), late);
  const designs = events.filter((e) => e.event.table === 'design');
  await putObject(ingestion, [
    designs[0]!,
    { ...designs[1]!, text: '{"v":1,"id":' },
    { ...designs[2]!, text: designs[2]!.text.replace('"v":1', '"v":9') },
    { ...designs[3]!, text: designs[3]!.text.replace('"table":"design"', '"table":"nope"') },
    { ...designs[4]!, text: designs[4]!.text.replace(/"xid":\d+/, '"xid":"x"') },
    { ...designs[6]!, text: WATERMARK },
    deferredInvalid(designs[5]!),
  ], late + 1000);
  // Records that are not change events share the stream, so the archive: skipped, never issues.
  await putObject(ingestion, [{ ...payments[0]!, text: WATERMARK }, { ...payments[0]!, text: `  ${WATERMARK}` }], late + 2000);
  await ingestion.put('changes/table=design/date=2026-11-22/hour=09/totesys-cdc-1-broken.json.gz', Buffer.from('not gzip'));
  return { ingestion, events };
}

describe('replay --rebuild on processing lanes', () => {
  let single: TestDatabase;
  let laned: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    [single, laned] = await Promise.all([createTestDatabase('replay_lanes_single'), createTestDatabase('replay_lanes_laned')]);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'replay-lanes-'));
  });
  afterAll(async () => {
    await single?.drop();
    await laned?.drop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('lanes=2 builds the same warehouse, counts and issue list as lanes=1', async () => {
    const { ingestion } = await buildArchive(dir);
    // Threads started while processing: one lane runs on the calling thread (the archive is small
    // enough for the scan to stay there too), two run on worker threads.
    const extraThreads = new Map<number, number>();
    const run = (db: TestDatabase, lanes: number, name: string) => {
      const before = threadCount();
      extraThreads.set(lanes, 0);
      const onProgress = (p: ReplayProgress) => void (p.phase === 'process' && extraThreads.set(lanes, Math.max(extraThreads.get(lanes)!, threadCount() - before)));
      return replay({ ingestion, processed: new LocalDirObjectStore(path.join(dir, name)), warehouseUrl: db.url, rebuild: true, logger: silentLogger, batchSize: 97, lanes, onProgress });
    };
    const one: ReplaySummary = await run(single, 1, 'processed-1');
    const two: ReplaySummary = await run(laned, 2, 'processed-2');

    expect(one.lanes).toBe(1);
    expect(two.lanes).toBe(2);
    expect(extraThreads.get(1)).toBe(0);
    expect(extraThreads.get(2)).toBeGreaterThanOrEqual(2);
    const counts = (s: ReplaySummary) => ({ files: s.files, lines: s.lines, eventsRead: s.eventsRead, otherRecords: s.otherRecords, duplicates: s.duplicates, eventsReplayed: s.eventsReplayed, issueCount: s.issueCount, issueCounts: s.issueCounts, partial: s.partial });
    expect(counts(two)).toEqual(counts(one));
    expect(one.otherRecords).toBe(3); // the watermarks, skipped without an issue
    // Every kind of bad line was met, some only after the merge (the lanes' part of the list).
    expect(Object.keys(one.issueCounts).sort()).toEqual(['corrupt-gzip', 'invalid-event', 'malformed-json', 'unknown-table', 'unsupported-version']);
    expect(one.issueCounts['invalid-event']).toBe(47); // xid (scan); 40 payments, 5 staff, 1 design (merge)
    expect(one.duplicates).toBe(131);
    const issues = (s: ReplaySummary) => s.issues.map((i) => ({ kind: i.kind, file: i.file, line: i.line, eventId: i.eventId, message: i.message }));
    expect(issues(two)).toEqual(issues(one));

    const a = new pg.Client({ connectionString: single.url });
    const b = new pg.Client({ connectionString: laned.url });
    await Promise.all([a.connect(), b.connect()]);
    try {
      let rows = 0;
      for (const table of WAREHOUSE_TABLES) {
        const expected = await tableContent(a, 'star', table);
        expect(await tableContent(b, 'star', table), table).toEqual(expected);
        rows += expected.length;
      }
      expect(rows).toBeGreaterThan(1000);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }

    // A processed store other threads cannot re-create (a wrapper) keeps the rebuild on this thread.
    const wrapped = Object.create(new LocalDirObjectStore(path.join(dir, 'processed-wrapped'))) as LocalDirObjectStore;
    const fallback = await replay({ ingestion, processed: wrapped, warehouseUrl: single.url, rebuild: true, logger: silentLogger, lanes: 2 });
    expect(fallback.lanes).toBe(1);
    expect(counts(fallback)).toEqual(counts(one));
  });

  it('lanes write to an S3 bucket (s3rver): each lane opens its own client, and the warehouse is the one a local bucket gives', async () => {
    const s3 = await startS3rver(['processed']);
    try {
      const events = generateWorkload(400, { secondsBetweenTransactions: 10 });
      const ingestion = new LocalDirObjectStore(path.join(dir, 'ingestion-s3'));
      await writeArchive(ingestion, events, 60);
      const client = { region: 'eu-west-2', endpoint: s3.endpoint };
      const processed = new S3ObjectStore(createS3Client(client), 'processed', { client });
      const viaS3 = await replay({ ingestion, processed, warehouseUrl: laned.url, rebuild: true, logger: silentLogger, batchSize: 50, lanes: 2 });
      const local = await replay({ ingestion, processed: new LocalDirObjectStore(path.join(dir, 'processed-local')), warehouseUrl: single.url, rebuild: true, logger: silentLogger, batchSize: 50, lanes: 1 });
      expect(viaS3).toMatchObject({ lanes: 2, partial: false, eventsReplayed: events.length });
      let manifests = 0;
      for await (const object of processed.list(`${viaS3.processedPrefix}manifests/`)) manifests += object.key.endsWith('.json') ? 1 : 0;
      expect(manifests).toBe(viaS3.manifests);
      const a = new pg.Client({ connectionString: single.url });
      const b = new pg.Client({ connectionString: laned.url });
      await Promise.all([a.connect(), b.connect()]);
      try {
        for (const table of WAREHOUSE_TABLES) expect(await tableContent(b, 'star', table), table).toEqual(await tableContent(a, 'star', table));
      } finally {
        await Promise.all([a.end(), b.end()]);
      }
      expect(local.eventsReplayed).toBe(viaS3.eventsReplayed);
    } finally {
      await s3.stop();
    }
  });

  it('a failing lane fails the rebuild: no worker threads, no rebuild schema, no temp files are left', async () => {
    // The COPY of the manifest holding a value the warehouse refuses fails, inside a lane.
    const events = workloadWithRejectedValue(600);
    const ingestion = new LocalDirObjectStore(path.join(dir, 'ingestion-poisoned'));
    await writeArchive(ingestion, events, 80);
    const tempDir = path.join(dir, 'temp-poisoned');
    await fs.mkdir(tempDir);
    const client = new pg.Client({ connectionString: laned.url });
    await client.connect();
    const undo = await rejectDesignNamesInWarehouse(client);
    try {
      await expect(replay({ ingestion, processed: new LocalDirObjectStore(path.join(dir, 'unused')), warehouseUrl: laned.url, rebuild: true, logger: silentLogger, lanes: 0 })).rejects.toThrow(/lanes must be a whole number from 1 to 16/);
      const schemas = await schemaNames(client);
      const threads = threadCount();
      await expect(
        replay({ ingestion, processed: new LocalDirObjectStore(path.join(dir, 'processed-poisoned')), warehouseUrl: laned.url, rebuild: true, logger: silentLogger, batchSize: 50, lanes: 2, tempDir }),
      ).rejects.toThrow(/rebuild not swapped in: manifest .* failed to load into star_rebuild_.*dim_design rejected by the warehouse.*the live schema is unchanged/);
      expect(threadCount()).toBe(threads);
      expect(await schemaNames(client)).toEqual(schemas);
      expect(existsSync(tempDir) && readdirSync(tempDir)).toEqual([]);
    } finally {
      await undo();
      await client.end();
    }
  });
});
