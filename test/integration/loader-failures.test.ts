import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../platform/logger.js';
import { requeueFailedManifests } from '../../loader/load-ledger.js';
import { loadPendingManifests, type LoadPendingOptions } from '../../loader/run-loader.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { createProcessedBucket, dateDim, salesFact, staffDim, writeBatch, type ProcessedBucket } from '../support/processed-batch-factory.js';

describe('loader: failed manifests', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let bucket: ProcessedBucket;
  let n = 0;
  let schema: string;
  const load = (over: Partial<LoadPendingOptions> = {}) =>
    loadPendingManifests({ pool, processed: bucket.store, schema, logger: silentLogger, retry: { retryBaseMs: 0 }, ...over } as LoadPendingOptions);
  const count = async (table: string) => (await pool.query(`SELECT count(*)::int AS n FROM ${schema}.${table}`)).rows[0].n as number;

  beforeAll(async () => {
    db = await createTestDatabase('loader_failures');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });
  beforeEach(async () => {
    schema = `star_f${++n}`;
    bucket = await createProcessedBucket();
    return () => bucket.cleanup();
  });

  it('a missing file fails only its manifest: recorded, warehouse unchanged, later manifests load', async () => {
    const bad = await writeBatch(bucket.store, { dim_staff: [staffDim(1, 5n)], fact_sales_order: [salesFact(1, 10n)] });
    await writeBatch(bucket.store, { dim_staff: [staffDim(2, 5n)] });
    await bucket.store.delete(bad.manifest.files.find((f) => f.table === 'fact_sales_order')!.key);
    const lines: string[] = [];
    const summary = await load({ logger: createLogger({ service: 'loader', level: 'warn', write: (l) => lines.push(l) }) });
    expect(summary).toMatchObject({ manifestsLoaded: 1, manifestsFailed: 1 });
    expect(summary.failures[0]).toMatchObject({ manifestKey: bad.manifestKey, attempts: 1, parked: false });
    expect(summary.failures[0].error).toMatch(/fact_sales_order\/.*is missing/);
    expect(lines.some((l) => JSON.parse(l).metric === 'loaderFailures')).toBe(true);
    // dim_staff 1 came first in the failed manifest's transaction: rolled back with it
    const { rows } = await pool.query(`SELECT staff_id FROM ${schema}.dim_staff`);
    expect(rows).toEqual([{ staff_id: 2 }]);
    expect(await count('fact_sales_order')).toBe(0);
    const failure = await pool.query(`SELECT batch_id, attempts, error, parked FROM ${schema}.load_failures`);
    expect(failure.rows).toEqual([{ batch_id: bad.manifest.batchId, attempts: 1, error: expect.stringMatching(/missing/), parked: false }]);
  });

  it('a corrupt file (sha256 mismatch) is refused; repairing it lets the retry load it and clears the failure', async () => {
    const bad = await writeBatch(bucket.store, { dim_date: [dateDim('2022-11-03')], fact_sales_order: [salesFact(1, 10n)] });
    const file = bad.manifest.files.find((f) => f.table === 'fact_sales_order')!;
    const original = await bucket.store.get(file.key);
    const flipped = Uint8Array.from(original);
    flipped[Math.floor(flipped.length / 2)] ^= 0xff;
    await bucket.store.put(file.key, flipped);
    const first = await load();
    expect(first.failures[0].error).toMatch(/corrupt: sha256/);
    expect(await count('dim_date')).toBe(0);
    await bucket.store.put(file.key, original);
    const second = await load();
    expect(second).toMatchObject({ manifestsLoaded: 1, manifestsFailed: 0 });
    expect(await count('fact_sales_order')).toBe(1);
    expect(await count('load_failures')).toBe(0);
  });

  it('a constraint violation after earlier tables rolls back the whole manifest (nothing half-loaded)', async () => {
    // dimensions and inferred members are written first, then the fact insert violates CHECK (op …)
    await writeBatch(bucket.store, { dim_staff: [staffDim(1, 5n)], fact_sales_order: [salesFact(1, 10n), salesFact(2, 10n, { op: 'x', source_seq: 1 })] });
    await writeBatch(bucket.store, { fact_sales_order: [salesFact(3, 11n)] });
    const summary = await load();
    expect(summary).toMatchObject({ manifestsLoaded: 1, manifestsFailed: 1 });
    expect(summary.failures[0].error).toMatch(/fact_sales_order rejected by the warehouse: .*check constraint.*SQLSTATE 23514/);
    const { rows } = await pool.query(`SELECT sales_order_id FROM ${schema}.fact_sales_order`);
    expect(rows).toEqual([{ sales_order_id: 3 }]);
    // staff 1 exists only as the inferred member of the good manifest, never with the bad one's attributes
    const staff = await pool.query(`SELECT first_name, version_lsn::int FROM ${schema}.dim_staff`);
    expect(staff.rows).toEqual([{ first_name: null, version_lsn: 0 }]);
  });

  it('retries with backoff a bounded number of times, then parks the manifest with an alarm; requeue brings it back', async () => {
    const bad = await writeBatch(bucket.store, { dim_staff: [staffDim(1, 5n)] });
    await bucket.store.put(bad.manifest.files[0].key, 'garbage');
    // with a long backoff the second run does not retry yet
    expect((await load({ retry: { retryBaseMs: 60_000, maxAttempts: 3 } })).manifestsFailed).toBe(1);
    expect((await load({ retry: { retryBaseMs: 60_000, maxAttempts: 3 } })).manifestsFailed).toBe(0);
    const next = await pool.query(`SELECT next_attempt_at - last_failed_at AS wait FROM ${schema}.load_failures`);
    expect(next.rows[0].wait).toMatchObject({ minutes: 1 });
    // time passes: the backoff expires
    await pool.query(`UPDATE ${schema}.load_failures SET next_attempt_at = now() - interval '1 second'`);
    const lines: string[] = [];
    const logger = createLogger({ service: 'loader', level: 'warn', write: (l) => lines.push(l) });
    for (let attempt = 2; attempt <= 3; attempt++) {
      const s = await load({ retry: { retryBaseMs: 0, maxAttempts: 3 }, logger });
      expect(s.failures[0]).toMatchObject({ attempts: attempt, parked: attempt === 3 });
    }
    expect(lines.map((l) => JSON.parse(l)).find((r) => r.alarm)).toMatchObject({ level: 'error', manifestKey: bad.manifestKey, attempts: 3 });
    // parked: no more attempts, even far behind the listing window
    expect((await load({ retry: { retryBaseMs: 0, maxAttempts: 3 }, lookbackMs: 0 })).manifestsFailed).toBe(0);
    await fs.rm(path.join(bucket.dir, ...bad.manifest.files[0].key.split('/')));
    await writeBatch(bucket.store, { dim_staff: [staffDim(1, 5n)] }, { batchId: bad.manifest.batchId, createdAt: bad.manifest.createdAt });
    const client = await pool.connect();
    try {
      expect(await requeueFailedManifests(client, schema)).toBe(1);
    } finally {
      client.release();
    }
    expect((await load({ lookbackMs: 0 })).manifestsLoaded).toBe(1);
    expect(await count('load_failures')).toBe(0);
  });

  it('an invalid manifest is recorded without a batch id and does not block others', async () => {
    await bucket.store.put('manifests/date=2026-11-22/20261122T000000000Z-broken.json', '{"v":1,');
    await writeBatch(bucket.store, { dim_staff: [staffDim(9, 1n)] });
    const summary = await load();
    expect(summary).toMatchObject({ manifestsLoaded: 1, manifestsFailed: 1 });
    expect(summary.failures[0].error).toMatch(/invalid: not JSON/);
  });
});
