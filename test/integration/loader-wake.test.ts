import { describe, expect, it } from 'vitest';
import { ManifestWake } from '../../loader/manifest-wake.js';
import { runLoaderLoop, type LoadSummary } from '../../loader/run-loader.js';
import { silentLogger } from '../../platform/logger.js';
import { useLoaderTestbed } from '../support/loader-testbed.js';
import { salesFact, writeBatch } from '../support/processed-batch-factory.js';
import { pollUntil } from '../support/wait-for.js';

/** `up`'s loader is told of each manifest the processor writes (loader/manifest-wake.ts) and loads it at once. */
describe('loader: woken by manifest notices', () => {
  const bed = useLoaderTestbed('loader_wake', 'star_w');
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('the local loop loads a notified manifest at once, long before its next tick; notices during a run coalesce into one more run', async () => {
    const wake = new ManifestWake();
    const controller = new AbortController();
    const summaries: LoadSummary[] = [];
    const loop = runLoaderLoop({ pool: bed.pool, processed: bed.bucket.store, schema: bed.schema, logger: silentLogger, intervalMs: 60_000, signal: controller.signal, wake, onSummary: (s) => summaries.push(s) } as Parameters<typeof runLoaderLoop>[0]);
    try {
      expect(await pollUntil(async () => summaries.length === 1, 10_000)).toBe(true); // the first tick, nothing to load
      await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(1, 10n)] });
      wake.notify();
      expect(await pollUntil(async () => summaries.some((s) => s.manifestsLoaded === 1), 5_000)).toBe(true);
      // Several notices while runs are going: every manifest is loaded, with far fewer runs than notices.
      for (let i = 2; i <= 11; i++) {
        await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(i, BigInt(10 + i))] });
        wake.notify();
      }
      expect(await pollUntil(async () => (await bed.count('fact_sales_order')) === 11, 10_000)).toBe(true);
      await sleep(300);
      expect(summaries.every((s) => s.status === 'completed')).toBe(true); // never two runs at once
      expect(summaries.length).toBeLessThanOrEqual(12);
    } finally {
      controller.abort();
      await loop;
    }
  });

  it('without a notice the loop waits for its tick (what the notice saves)', async () => {
    const controller = new AbortController();
    const summaries: LoadSummary[] = [];
    const loop = runLoaderLoop({ pool: bed.pool, processed: bed.bucket.store, schema: bed.schema, logger: silentLogger, intervalMs: 60_000, signal: controller.signal, onSummary: (s) => summaries.push(s) } as Parameters<typeof runLoaderLoop>[0]);
    try {
      expect(await pollUntil(async () => summaries.length === 1, 10_000)).toBe(true);
      await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(1, 10n)] });
      expect(await pollUntil(async () => summaries.some((s) => s.manifestsLoaded === 1), 1_500)).toBe(false);
    } finally {
      controller.abort();
      await loop;
    }
  });

  it('a draining run waiting for its next poll looks at once when notified', async () => {
    const wake = new ManifestWake();
    const controller = new AbortController();
    const run = bed.load({ drainUntilMs: Date.now() + 30_000, pollIntervalMs: 20_000, wake, signal: controller.signal });
    try {
      await sleep(1_000); // the first pass is done; the drain waits for its 20 s poll
      await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(1, 10n)] });
      const written = Date.now();
      wake.notify();
      expect(await pollUntil(async () => (await bed.count('fact_sales_order').catch(() => 0)) === 1, 5_000)).toBe(true);
      expect(Date.now() - written).toBeLessThan(5_000);
    } finally {
      controller.abort();
      expect(await run).toMatchObject({ status: 'completed', manifestsLoaded: 1 });
    }
  });
});
