import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { listKeys } from '../support/recording-object-store.js';
import { loadPendingManifests, type LoadPendingOptions } from '../../loader/run-loader.js';
import { silentLogger } from '../../platform/logger.js';
import { encodeWarehouseParquet } from '../../parquet/warehouse-parquet.js';
import { processEvents } from '../../stream-processors/process-batch.js';
import { LocalJoinStateStore } from '../../stream-processors/state/local-join-state-store.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';
import { claimRows } from '../support/forged-parquet.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { createProcessedBucket, designDim, staffDim, writeBatch, type ProcessedBucket } from '../support/processed-batch-factory.js';

/** Issue 17 points 1 and 3: hostile processed files and one bad value among good ones. */
describe('loader and processor on hostile or broken input', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let bucket: ProcessedBucket;
  let n = 0;
  let schema: string;
  const load = (over: Partial<LoadPendingOptions> = {}) =>
    loadPendingManifests({ pool, processed: bucket.store, schema, logger: silentLogger, retry: { retryBaseMs: 0 }, ...over } as LoadPendingOptions);
  const count = async (table: string) => (await pool.query(`SELECT count(*)::int AS n FROM ${schema}.${table}`)).rows[0].n as number;

  beforeAll(async () => {
    db = await createTestDatabase('security_bad_input');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });
  beforeEach(async () => {
    schema = `star_s${++n}`;
    bucket = await createProcessedBucket();
    return () => bucket.cleanup();
  });

  it('a 1-row file whose footer (and manifest) claim 50M rows fails its manifest by name, bounded, on every run; later manifests load', async () => {
    const bad = await writeBatch(bucket.store, { dim_staff: [staffDim(1, 5n)] });
    const file = bad.manifest.files[0]!;
    const forged = claimRows(encodeWarehouseParquet('dim_staff', [staffDim(1, 5n)]), 50_000_000);
    await bucket.store.put(file.key, forged);
    for (const rows of [1, 50_000_000]) {
      // Both a manifest that tells the truth about the file's size (but not its rows) and one that lies along with it.
      const manifest = { ...bad.manifest, files: [{ ...file, rows, bytes: forged.byteLength, sha256: createHash('sha256').update(forged).digest('hex') }] };
      await bucket.store.put(bad.manifestKey, JSON.stringify(manifest));
      await writeBatch(bucket.store, { dim_staff: [staffDim(rows === 1 ? 101 : 102, 5n)] });
      const heapBefore = process.memoryUsage().heapUsed;
      const summary = await load();
      const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
      expect(summary.manifestsFailed).toBe(1);
      expect(summary.failures[0]!.manifestKey).toBe(bad.manifestKey);
      expect(summary.failures[0]!.error).toContain(file.key);
      expect(summary.failures[0]!.error).toMatch(/rows/);
      // Decoding 50M rows takes gigabytes; the bound stops it at the footer.
      expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
      const failures = await pool.query(`SELECT manifest_key, error FROM ${schema}.load_failures`);
      expect(failures.rows.map((r) => r.manifest_key)).toEqual([bad.manifestKey]);
    }
    expect(await count('dim_staff')).toBe(2);
  });

  it('a text value with a NUL in a processed file fails its manifest with the row and column named, not COPY\'s message', async () => {
    const bad = await writeBatch(bucket.store, { dim_design: [designDim(1, 5n), designDim(2, 5n, { design_name: 'nul\u0000here' })] });
    const summary = await load();
    expect(summary.manifestsFailed).toBe(1);
    expect(summary.failures[0]!.error).toContain(bad.manifest.files[0]!.key);
    expect(summary.failures[0]!.error).toMatch(/row 2: dim_design\.design_name contains a NUL/);
  });

  it('one archived event with a NUL in a text value is quarantined alone; the 6 valid events beside it are processed and loaded', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'security-nul-'));
    const state = await LocalJoinStateStore.open(path.join(dir, 'state'), silentLogger);
    try {
      const processed = new LocalDirObjectStore(bucket.dir);
      const events = [1, 2, 3, 4, 5, 6, 7].map((id) =>
        changeEvent('design', 'c', sourceRow.design({ design_id: id, design_name: id === 4 ? 'Wood\u0000en' : `Design ${id}` }), { lsn: 0x1000 + id }),
      );
      const manifest = await processEvents(events, { state, processed, logger: silentLogger });
      expect(manifest!.eventCount).toBe(6);
      const quarantined = await listKeys(processed, 'quarantine/');
      expect(quarantined).toHaveLength(1);
      const entry = JSON.parse(Buffer.from(await processed.get(quarantined[0]!)).toString('utf8'));
      expect(entry).toMatchObject({ reason: 'invalid-value', eventId: events[3]!.id });
      expect(entry.error).toMatch(/design_name.*NUL/);
      const summary = await load();
      expect(summary).toMatchObject({ manifestsLoaded: 1, manifestsFailed: 0 });
      expect(await count('dim_design')).toBe(6);
    } finally {
      await state.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
