import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../bucket/object-store.js';
import { ManifestWake } from '../../loader/manifest-wake.js';
import { runLoaderLoop, type LoadSummary } from '../../loader/run-loader.js';
import { silentLogger } from '../../platform/logger.js';
import { useLoaderTestbed } from '../support/loader-testbed.js';
import { salesFact, writeBatch } from '../support/processed-batch-factory.js';
import { observedObjectStore } from '../support/observed-object-store.js';
import { pollUntil } from '../support/wait-for.js';

/**
 * `up`'s loader (loader/run-loader.ts, manifest-load-queue.ts): a woken loop drains, so a notice is
 * answered inside the run that holds the lock, and a manifest written while a transaction is
 * loading is read (bucket, Parquet) during that transaction, so its own load starts as it commits.
 */
describe('loader: pipelined drain', () => {
  const bed = useLoaderTestbed('loader_pipelined', 'star_pl');
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** The bucket, remembering every key read from it. */
  const readsOf = (store: ObjectStore) => {
    const reads: string[] = [];
    return { reads, recording: observedObjectStore(store, { onGet: (key) => reads.push(key) }) };
  };

  it('reads a manifest written during a load while that load is still open, and loads it once that load commits', async () => {
    await bed.load({ maxManifests: 0 }); // the schema
    const { reads, recording } = readsOf(bed.bucket.store);
    const wake = new ManifestWake();
    const controller = new AbortController();
    const run = bed.load({ processed: recording, drainUntilMs: Date.now() + 60_000, pollIntervalMs: 20_000, wake, signal: controller.signal });
    // Another session holds the fact table: the first load waits inside its transaction.
    const blocker = new pg.Client({ connectionString: bed.db.url });
    await blocker.connect();
    let released = false;
    try {
      await blocker.query('BEGIN');
      await blocker.query(`LOCK TABLE ${bed.schema}.fact_sales_order IN ACCESS EXCLUSIVE MODE`);
      await sleep(300); // the run's first pass is done; it waits for a notice
      await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(1, 10n)] });
      wake.notify();
      // The loader's transaction waits for the table (a lock not granted).
      const waiting = async () =>
        ((await bed.pool.query(`SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted AND c.relname = 'fact_sales_order'`)).rowCount ?? 0) > 0;
      expect(await pollUntil(waiting, 10_000)).toBe(true);
      const second = await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(2, 11n)] });
      wake.notify();
      // Read while the first transaction is still blocked (before: only after it had committed).
      expect(await pollUntil(() => reads.includes(second.manifestKey), 5_000)).toBe(true);
      expect(await bed.count('load_ledger')).toBe(0); // (the fact table itself is locked: not even readable)
      await blocker.query('ROLLBACK');
      released = true;
      expect(await pollUntil(async () => (await bed.count('fact_sales_order')) === 2, 10_000)).toBe(true);
    } finally {
      if (!released) await blocker.query('ROLLBACK').catch(() => {});
      await blocker.end();
      controller.abort();
    }
    const summary = await run;
    expect(summary).toMatchObject({ status: 'completed', manifestsLoaded: 2, manifestsFailed: 0 });
    const ledger = await bed.pool.query(`SELECT count(*)::int AS n, count(DISTINCT loaded_at)::int AS loads FROM ${bed.schema}.load_ledger`);
    expect(ledger.rows[0]).toEqual({ n: 2, loads: 2 }); // its own transaction, right after the first
  });

  it('a woken loop keeps one run (and the lock) across notices, and reports each load as it happens', async () => {
    const wake = new ManifestWake();
    const controller = new AbortController();
    const summaries: LoadSummary[] = [];
    const loaded = () => summaries.reduce((n, s) => n + s.manifestsLoaded, 0);
    const loop = runLoaderLoop({ pool: bed.pool, processed: bed.bucket.store, schema: bed.schema, logger: silentLogger, intervalMs: 60_000, signal: controller.signal, wake, onSummary: (s) => summaries.push(s) } as Parameters<typeof runLoaderLoop>[0]);
    try {
      expect(await pollUntil(() => summaries.length === 1, 10_000)).toBe(true); // the first pass, nothing to load
      for (let i = 1; i <= 3; i++) {
        await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(i, BigInt(10 + i))] });
        wake.notify();
        expect(await pollUntil(() => loaded() === i, 5_000)).toBe(true);
        // Between notices the run goes on holding the lock: a second loader finds it taken.
        expect((await bed.load()).status).toBe('locked');
      }
      expect(summaries.every((s) => s.status === 'completed')).toBe(true);
      expect(summaries.reduce((n, s) => n + s.rowsLoaded, 0)).toBe(3); // per-pass reports add up, nothing counted twice
    } finally {
      controller.abort();
      await loop;
    }
    expect(loaded()).toBe(3);
    expect(await bed.count('fact_sales_order')).toBe(3);
  });

  it('a draining run ends early for a loader that waits for the lock (replay while up runs), and the loop takes it back after', async () => {
    const wake = new ManifestWake();
    const controller = new AbortController();
    const summaries: LoadSummary[] = [];
    const loop = runLoaderLoop({ pool: bed.pool, processed: bed.bucket.store, schema: bed.schema, logger: silentLogger, intervalMs: 200, signal: controller.signal, wake, onSummary: (s) => summaries.push(s) } as Parameters<typeof runLoaderLoop>[0]);
    try {
      expect(await pollUntil(() => summaries.length === 1, 10_000)).toBe(true); // the drain holds the lock for its 60 s
      expect((await bed.load()).status).toBe('locked');
      await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(1, 11n)] });
      const started = Date.now();
      const waited = await bed.load({ lockWaitMs: 20_000 });
      expect(waited.status).toBe('completed');
      expect(Date.now() - started).toBeLessThan(10_000); // not the drain's 60 s
      expect(await bed.count('fact_sales_order')).toBe(1); // loaded once, by whichever run got to it
      // The loop runs on: a manifest written now is loaded by its next run.
      await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(2, 12n)] });
      wake.notify();
      expect(await pollUntil(async () => (await bed.count('fact_sales_order')) === 2, 10_000)).toBe(true);
    } finally {
      controller.abort();
      await loop;
    }
  });
});
