import { describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../bucket/object-store.js';
import { ManifestWake } from '../../loader/manifest-wake.js';
import { useLoaderTestbed } from '../support/loader-testbed.js';
import { salesFact, writeBatch } from '../support/processed-batch-factory.js';
import { observedObjectStore } from '../support/observed-object-store.js';
import { pollUntil } from '../support/wait-for.js';

/**
 * A draining loader told the key of each manifest written (`up`'s processor, loader/manifest-wake.ts)
 * reads it without listing the bucket; the listing stays as the safety net for a manifest nobody
 * announced.
 */
describe('loader: noticed manifest keys', () => {
  const bed = useLoaderTestbed('loader_noticed', 'star_nk');
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** The bucket, counting its listings. */
  const countingLists = (store: ObjectStore) => {
    const counts = { lists: 0 };
    return { counts, counting: observedObjectStore(store, { onList: () => counts.lists++ }) };
  };

  it('loads an announced manifest without listing the bucket', async () => {
    await bed.load({ maxManifests: 0 }); // the schema
    const { counts, counting } = countingLists(bed.bucket.store);
    const wake = new ManifestWake();
    const controller = new AbortController();
    const run = bed.load({ processed: counting, drainUntilMs: Date.now() + 60_000, pollIntervalMs: 20_000, wake, signal: controller.signal });
    try {
      expect(await pollUntil(() => counts.lists === 1, 10_000)).toBe(true); // the run's first (full) pass
      for (let i = 1; i <= 3; i++) {
        const { manifestKey } = await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(i, BigInt(10 + i))] });
        wake.notify(manifestKey);
        expect(await pollUntil(async () => (await bed.count('fact_sales_order')) === i, 10_000)).toBe(true);
      }
      expect(counts.lists).toBe(1); // before: one listing per notice
    } finally {
      controller.abort();
    }
    expect(await run).toMatchObject({ status: 'completed', manifestsLoaded: 3, manifestsFailed: 0 });
  });

  it('still lists while keys are announced: a manifest nobody announced is loaded too', async () => {
    await bed.load({ maxManifests: 0 });
    const wake = new ManifestWake();
    const controller = new AbortController();
    const run = bed.load({ drainUntilMs: Date.now() + 60_000, pollIntervalMs: 100, wake, signal: controller.signal });
    try {
      await sleep(300);
      // Keys written now (the processor's; the factory's clock steps a second a manifest, past a drain's 10 s look-back).
      const now = () => ({ createdAt: new Date().toISOString() });
      await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(100, 100n)] }, now()); // never announced
      // Announced ones keep coming (the wait for a notice never reaches the poll interval).
      let announced = 0;
      const found = await pollUntil(async () => {
        const { manifestKey } = await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(200 + announced, BigInt(200 + announced))] }, now());
        announced++;
        wake.notify(manifestKey);
        return (await bed.pool.query(`SELECT 1 FROM ${bed.schema}.fact_sales_order WHERE sales_order_id = 100`)).rowCount === 1;
      }, 10_000);
      expect(found).toBe(true);
    } finally {
      controller.abort();
    }
    const summary = await run;
    expect(summary.manifestsFailed).toBe(0);
    expect(await bed.count('fact_sales_order')).toBe(summary.manifestsLoaded);
  });
});
