import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/logger.js';
import { useLoaderTestbed } from '../support/loader-testbed.js';
import { dateDim, salesFact, staffDim, writeBatch } from '../support/processed-batch-factory.js';

describe('loader: failed manifests', () => {
  const bed = useLoaderTestbed('loader_failures', 'star_f');
  const { load, count } = bed;

  it('a missing file fails only its manifest: recorded, warehouse unchanged, later manifests load', async () => {
    const bad = await writeBatch(bed.bucket.store, { dim_staff: [staffDim(1, 5n)], fact_sales_order: [salesFact(1, 10n)] });
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(2, 5n)] });
    await bed.bucket.store.delete(bad.manifest.files.find((f) => f.table === 'fact_sales_order')!.key);
    const lines: string[] = [];
    const summary = await load({ logger: createLogger({ service: 'loader', level: 'warn', write: (l) => lines.push(l) }) });
    expect(summary).toMatchObject({ manifestsLoaded: 1, manifestsFailed: 1 });
    expect(summary.failures[0]).toMatchObject({ manifestKey: bad.manifestKey, attempts: 1, parked: false });
    expect(summary.failures[0].error).toMatch(/fact_sales_order\/.*is missing/);
    expect(lines.some((l) => JSON.parse(l).metric === 'loaderFailures')).toBe(true);
    // dim_staff 1 came first in the failed manifest's transaction: rolled back with it
    const { rows } = await bed.pool.query(`SELECT staff_id FROM ${bed.schema}.dim_staff`);
    expect(rows).toEqual([{ staff_id: 2 }]);
    expect(await count('fact_sales_order')).toBe(0);
    const failure = await bed.pool.query(`SELECT batch_id, attempts, error, parked FROM ${bed.schema}.load_failures`);
    expect(failure.rows).toEqual([{ batch_id: bad.manifest.batchId, attempts: 1, error: expect.stringMatching(/missing/), parked: false }]);
  });

  it('a corrupt file (sha256 mismatch) is refused; repairing it lets the retry load it and clears the failure', async () => {
    const bad = await writeBatch(bed.bucket.store, { dim_date: [dateDim('2022-11-03')], fact_sales_order: [salesFact(1, 10n)] });
    const file = bad.manifest.files.find((f) => f.table === 'fact_sales_order')!;
    const original = await bed.bucket.store.get(file.key);
    const flipped = Uint8Array.from(original);
    flipped[Math.floor(flipped.length / 2)] ^= 0xff;
    await bed.bucket.store.put(file.key, flipped);
    const first = await load();
    expect(first.failures[0].error).toMatch(/corrupt: sha256/);
    expect(await count('dim_date')).toBe(0);
    await bed.bucket.store.put(file.key, original);
    const second = await load();
    expect(second).toMatchObject({ manifestsLoaded: 1, manifestsFailed: 0 });
    expect(await count('fact_sales_order')).toBe(1);
    expect(await count('load_failures')).toBe(0);
  });

  it('a constraint violation after earlier tables rolls back the whole manifest (nothing half-loaded)', async () => {
    // dimensions and inferred members are written first, then the fact insert violates CHECK (op …)
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(1, 5n)], fact_sales_order: [salesFact(1, 10n), salesFact(2, 10n, { op: 'x', source_seq: 1 })] });
    await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(3, 11n)] });
    const summary = await load();
    expect(summary).toMatchObject({ manifestsLoaded: 1, manifestsFailed: 1 });
    expect(summary.failures[0].error).toMatch(/fact_sales_order rejected by the warehouse: .*check constraint.*SQLSTATE 23514/);
    const { rows } = await bed.pool.query(`SELECT sales_order_id FROM ${bed.schema}.fact_sales_order`);
    expect(rows).toEqual([{ sales_order_id: 3 }]);
    // staff 1 exists only as the inferred member of the good manifest, never with the bad one's attributes
    const staff = await bed.pool.query(`SELECT first_name, version_lsn::int FROM ${bed.schema}.dim_staff`);
    expect(staff.rows).toEqual([{ first_name: null, version_lsn: 0 }]);
  });

  it('retries with backoff a bounded number of times, then parks the manifest with an alarm; requeue brings it back', async () => {
    const bad = await writeBatch(bed.bucket.store, { dim_staff: [staffDim(1, 5n)] });
    await bed.bucket.store.put(bad.manifest.files[0].key, 'garbage');
    // with a long backoff the second run does not retry yet
    expect((await load({ retry: { retryBaseMs: 60_000, maxAttempts: 3 } })).manifestsFailed).toBe(1);
    expect((await load({ retry: { retryBaseMs: 60_000, maxAttempts: 3 } })).manifestsFailed).toBe(0);
    const next = await bed.pool.query(`SELECT next_attempt_at - last_failed_at AS wait FROM ${bed.schema}.load_failures`);
    expect(next.rows[0].wait).toMatchObject({ minutes: 1 });
    // time passes: the backoff expires
    await bed.pool.query(`UPDATE ${bed.schema}.load_failures SET next_attempt_at = now() - interval '1 second'`);
    const lines: string[] = [];
    const logger = createLogger({ service: 'loader', level: 'warn', write: (l) => lines.push(l) });
    for (let attempt = 2; attempt <= 3; attempt++) {
      const s = await load({ retry: { retryBaseMs: 0, maxAttempts: 3 }, logger });
      expect(s.failures[0]).toMatchObject({ attempts: attempt, parked: attempt === 3 });
    }
    expect(lines.map((l) => JSON.parse(l)).find((r) => r.alarm)).toMatchObject({ level: 'error', manifestKey: bad.manifestKey, attempts: 3 });
    // parked: no more attempts, even far behind the listing window
    expect((await load({ retry: { retryBaseMs: 0, maxAttempts: 3 }, lookbackMs: 0 })).manifestsFailed).toBe(0);
    await fs.rm(path.join(bed.bucket.dir, ...bad.manifest.files[0].key.split('/')));
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(1, 5n)] }, { batchId: bad.manifest.batchId, createdAt: bad.manifest.createdAt });
    // The operator's requeue, exactly as the README's "Bad input" section gives it.
    const requeued = await bed.pool.query(`UPDATE ${bed.schema}.load_failures SET attempts = 0, parked = false, next_attempt_at = now() WHERE manifest_key = $1`, [bad.manifestKey]);
    expect(requeued.rowCount).toBe(1);
    expect((await load({ lookbackMs: 0 })).manifestsLoaded).toBe(1);
    expect(await count('load_failures')).toBe(0);
  });

  it('an invalid manifest is recorded without a batch id and does not block others', async () => {
    await bed.bucket.store.put('manifests/date=2026-11-22/20261122T000000000Z-broken.json', '{"v":1,');
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(9, 1n)] });
    const summary = await load();
    expect(summary).toMatchObject({ manifestsLoaded: 1, manifestsFailed: 1 });
    expect(summary.failures[0].error).toMatch(/invalid: not JSON/);
  });
});
