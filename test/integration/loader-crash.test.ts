import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../platform/logger.js';
import { loadPendingManifests } from '../../loader/run-loader.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { createProcessedBucket, salesFact, staffDim, writeBatch, type ProcessedBucket } from '../support/processed-batch-factory.js';

describe('loader: crash mid-load', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let bucket: ProcessedBucket;
  const schema = 'star';

  beforeAll(async () => {
    db = await createTestDatabase('loader_crash');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    bucket = await createProcessedBucket();
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
    await bucket.cleanup();
  });

  it('a loader process killed inside the transaction leaves nothing half-loaded; the next run loads the batch', async () => {
    await writeBatch(bucket.store, { dim_staff: [staffDim(1, 5n)], fact_sales_order: [salesFact(1, 10n), salesFact(2, 10n)] });
    await loadPendingManifests({ pool, processed: bucket.store, schema, logger: silentLogger, maxManifests: 0 }); // schema only
    // Hold the fact table so the child blocks after loading the dimension and inferred members.
    const blocker = await pool.connect();
    await blocker.query('BEGIN');
    await blocker.query(`LOCK TABLE ${schema}.fact_sales_order IN ACCESS EXCLUSIVE MODE`);
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('test/support/loader-child.ts')], {
      env: { ...process.env, LOADER_URL: db.url, LOADER_DIR: bucket.dir, LOADER_SCHEMA: schema },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ? null : code)));
    try {
      // Wait (bounded) until the child is blocked on the fact rows (COPY or insert), i.e. mid-transaction.
      let blockedQuery: string | undefined;
      for (let i = 0; i < 200 && !blockedQuery; i++) {
        const { rows } = await pool.query(
          `SELECT query FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'totesys-cdc-loader' AND wait_event_type = 'Lock'`,
        );
        blockedQuery = rows[0]?.query;
        if (!blockedQuery) await new Promise((r) => setTimeout(r, 50));
      }
      expect(blockedQuery).toMatch(/(INSERT INTO|COPY) "star"."fact_sales_order"/);
      child.kill('SIGKILL');
      expect(await exited).toBeNull();
    } finally {
      child.kill('SIGKILL');
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    // The server notices the dead connection and rolls its transaction back.
    for (let i = 0; i < 100; i++) {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'totesys-cdc-loader'`);
      if (rows[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const counts = await pool.query(`SELECT (SELECT count(*) FROM star.dim_staff)::int AS staff, (SELECT count(*) FROM star.fact_sales_order)::int AS facts, (SELECT count(*) FROM star.load_ledger)::int AS ledger`);
    expect(counts.rows[0]).toEqual({ staff: 0, facts: 0, ledger: 0 });

    const next = await loadPendingManifests({ pool, processed: bucket.store, schema, logger: silentLogger });
    expect(next).toMatchObject({ manifestsLoaded: 1, rowsByTable: { dim_staff: 1, fact_sales_order: 2 } });
  });
});
