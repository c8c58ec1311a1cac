import { describe, expect, it } from 'vitest';
import { ManifestWake } from '../../loader/manifest-wake.js';
import { useLoaderTestbed } from '../support/loader-testbed.js';
import { staffDim, writeBatch } from '../support/processed-batch-factory.js';
import { pollUntil } from '../support/wait-for.js';

/**
 * Staging tables (loader/load-sql.ts createStagingSql) are made once per session and emptied at
 * every commit, not made and dropped in every load transaction (a CREATE of 6-9 ms and catalog
 * churn at COMMIT, per staged dimension).
 */
describe('loader: staging tables per session', () => {
  const bed = useLoaderTestbed('loader_staging', 'star_stg');
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** The loader session's temp staging table of dim_staff, seen from another session: its oid, or none. */
  const stagingTables = async () =>
    (await bed.pool.query<{ oid: number }>(`SELECT c.oid::int AS oid FROM pg_class c WHERE c.relname = 'stage_dim_staff' AND c.relpersistence = 't'`)).rows.map((r) => r.oid);

  it('a draining session keeps its staging table, empty, across load transactions', async () => {
    await bed.load({ maxManifests: 0 }); // the schema
    const wake = new ManifestWake();
    const controller = new AbortController();
    const run = bed.load({ drainUntilMs: Date.now() + 60_000, pollIntervalMs: 20_000, wake, signal: controller.signal });
    try {
      await sleep(300);
      const first = await writeBatch(bed.bucket.store, { dim_staff: [staffDim(1, 10n)] });
      wake.notify(first.manifestKey);
      expect(await pollUntil(async () => (await bed.count('dim_staff')) === 1, 10_000)).toBe(true);
      const afterFirst = await stagingTables();
      expect(afterFirst).toHaveLength(1); // before: dropped at commit (ON COMMIT DROP)
      const second = await writeBatch(bed.bucket.store, { dim_staff: [staffDim(2, 11n), staffDim(1, 12n, { first_name: 'Renamed' })] });
      wake.notify(second.manifestKey);
      expect(await pollUntil(async () => (await bed.count('dim_staff')) === 2, 10_000)).toBe(true);
      expect(await stagingTables()).toEqual(afterFirst); // the same table, not made again
    } finally {
      controller.abort();
    }
    expect(await run).toMatchObject({ status: 'completed', manifestsLoaded: 2, manifestsFailed: 0 });
    // Emptied at each commit: the second load merged its own two rows, not the first load's again.
    const { rows } = await bed.pool.query(`SELECT staff_id, first_name FROM ${bed.schema}.dim_staff ORDER BY staff_id`);
    expect(rows).toEqual([
      { staff_id: 1, first_name: 'Renamed' },
      { staff_id: 2, first_name: expect.any(String) },
    ]);
  });
});
