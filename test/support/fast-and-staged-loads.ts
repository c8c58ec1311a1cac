import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { SNAPSHOT_READS_SETTING } from '../../loader/first-versions.js';
import { loadPendingManifests, type LoadPendingOptions } from '../../loader/run-loader.js';
import { silentLogger } from '../../platform/logger.js';
import { useTestPool } from './loader-testbed.js';
import { createProcessedBucket, type ProcessedBucket } from './processed-batch-factory.js';
import { recordingPool } from './recording-pool.js';

/**
 * The loader's first-version fast paths (loader/first-versions.ts) against the staging way, on the
 * same code and manifests: a test database, a processed bucket, and `load`, which loads a prefix's
 * manifests into a fresh schema (`<schemaPrefix><n>`) with the fast paths allowed, or through a
 * pool whose sessions set the operator's switch to 'staged', recording the statements sent.
 */
export function useFastAndStagedLoads(label: string, schemaPrefix: string) {
  const bed = useTestPool(label);
  let stagedPool: pg.Pool;
  let bucket: ProcessedBucket;
  let n = 0;
  beforeAll(async () => {
    stagedPool = new pg.Pool({ connectionString: bed.db.url, max: 2, options: `-c ${SNAPSHOT_READS_SETTING}=staged` });
    bucket = await createProcessedBucket();
  });
  afterAll(async () => {
    await stagedPool?.end();
    await bucket?.cleanup();
  });

  async function load(prefix: string, how: { staged: boolean; perTransaction: number; schema?: string }) {
    const schema = how.schema ?? `${schemaPrefix}${++n}`;
    const statements: string[] = [];
    const summary = await loadPendingManifests({
      pool: recordingPool(how.staged ? stagedPool : bed.pool, statements),
      processed: bucket.store,
      prefix: `${prefix}manifests/`,
      schema,
      logger: silentLogger,
      retry: { retryBaseMs: 0 },
      maxManifestsPerTransaction: how.perTransaction,
    } as LoadPendingOptions);
    expect(summary).toMatchObject({ status: 'completed', manifestsFailed: 0 });
    return { schema, statements, summary };
  }

  /** Resolves once some session of the test database waits on a lock (a load blocked by a writer's uncommitted row). */
  async function untilALoadWaitsOnALock(): Promise<void> {
    for (let waited = 0; ; waited += 50) {
      const { rows } = await bed.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
      if (rows[0].n > 0) return;
      if (waited > 20_000) throw new Error('the loader never waited for the writer');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  return {
    bed,
    load,
    untilALoadWaitsOnALock,
    get bucket(): ProcessedBucket {
      return bucket;
    },
    /** A fresh schema name, for tests that load by hand. */
    nextSchema: (prefix: string) => `${prefix}${++n}`,
  };
}
