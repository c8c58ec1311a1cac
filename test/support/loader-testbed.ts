import pg from 'pg';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { loadPendingManifests, type LoadPendingOptions, type LoadSummary } from '../../loader/run-loader.js';
import { silentLogger } from '../../platform/logger.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { createProcessedBucket, type ProcessedBucket } from './processed-batch-factory.js';

export interface TestPool {
  readonly db: TestDatabase;
  readonly pool: pg.Pool;
}

/** One database per test file and one pool on it, created before the file's tests and dropped after them. */
export function useTestPool(label: string, max = 4): TestPool {
  let db: TestDatabase | undefined;
  let pool: pg.Pool | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(label);
    pool = new pg.Pool({ connectionString: db.url, max });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });
  return {
    get db() {
      return db!;
    },
    get pool() {
      return pool!;
    },
  };
}

export interface LoaderTestbed extends TestPool {
  /** This test's processed bucket (a temp directory, removed after the test). */
  readonly bucket: ProcessedBucket;
  /** This test's warehouse schema: a fresh name per test, so tests stay independent on one database. */
  readonly schema: string;
  /** One loader run over this test's bucket into this test's schema, with no retry back-off. */
  load(over?: Partial<LoadPendingOptions>): Promise<LoadSummary>;
  /** Rows in one table of this test's schema. */
  count(table: string): Promise<number>;
}

/** A database for the file, and per test a fresh schema (`<schemaPrefix><n>`) and processed bucket. */
export function useLoaderTestbed(label: string, schemaPrefix: string): LoaderTestbed {
  const base = useTestPool(label);
  let bucket: ProcessedBucket | undefined;
  let schema = '';
  let n = 0;
  beforeEach(async () => {
    schema = `${schemaPrefix}${++n}`;
    bucket = await createProcessedBucket();
    const own = bucket;
    return () => own.cleanup();
  });
  const bed: LoaderTestbed = {
    get db() {
      return base.db;
    },
    get pool() {
      return base.pool;
    },
    get bucket() {
      return bucket!;
    },
    get schema() {
      return schema;
    },
    load: (over = {}) =>
      loadPendingManifests({ pool: base.pool, processed: bucket!.store, schema, logger: silentLogger, retry: { retryBaseMs: 0 }, ...over } as LoadPendingOptions),
    count: async (table) => (await base.pool.query(`SELECT count(*)::int AS n FROM ${schema}.${table}`)).rows[0].n as number,
  };
  return bed;
}
