import { describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../bucket/object-store.js';
import { MANIFEST_VERSION, type BatchManifest } from '../../contracts/manifest.js';
import { RECONCILE_VERSION, type ManifestReconcile, type ReconcileRecord } from '../../contracts/reconcile.js';
import { useLoaderTestbed } from '../support/loader-testbed.js';
import { counterpartyDim, currencyDim, dateDim, designDim, locationDim, nextManifestTime, salesFact, staffDim, writeBatch } from '../support/processed-batch-factory.js';

/**
 * The loader's half of reconciliation (contracts/reconcile.ts, loader/apply-reconciles.ts) on a real
 * Postgres: a reconcile waits for the copy of every shard it was sent to, then gives each live row
 * absent from its keys exactly one delete version; it looks only at versions below its own, so the
 * order in which later changes load does not matter; applying it again adds nothing.
 */
describe('loader: reconcile records', () => {
  const bed = useLoaderTestbed('loader_reconcile', 'recon_');

  const dims = (lsn: bigint) => ({
    dim_date: ['2022-11-03', '2022-11-07', '2022-11-10'].map(dateDim),
    dim_staff: [staffDim(1, lsn, { version_seq: 1 }), staffDim(2, lsn, { version_seq: 1 })],
    dim_location: [locationDim(1, lsn)],
    dim_currency: [currencyDim(1, 'GBP', lsn)],
    dim_design: [designDim(1, lsn), designDim(2, lsn), designDim(3, lsn)],
    dim_counterparty: [counterpartyDim(1, lsn)],
  });

  function reconcile(over: Partial<ReconcileRecord> & Pick<ReconcileRecord, 'table' | 'keys'>): ReconcileRecord {
    return { kind: 'reconcile', v: RECONCILE_VERSION, id: `snapshot/${over.table}/0/1F4/0`, lsn: '0/1F4', seq: -1, commitTs: '2026-11-22T13:00:00.000Z', reason: 'snapshot', keyAfter: null, keyTo: null, shards: null, ...over };
  }

  /** A manifest carrying only reconcile copies (as the processor writes one for a batch without events). */
  async function writeReconcileManifest(store: ObjectStore, reconciles: ManifestReconcile[]): Promise<void> {
    const createdAt = nextManifestTime();
    const batchId = `reconcile-${createdAt}`;
    const manifest: BatchManifest = { v: MANIFEST_VERSION, batchId, createdAt, eventCount: 0, firstEventId: '', lastEventId: '', minCommitTs: createdAt, maxCommitTs: createdAt, files: [], reconciles };
    await store.put(`manifests/date=${createdAt.slice(0, 10)}/${createdAt.replace(/[-:.]/g, '')}-${batchId}.json`, JSON.stringify(manifest));
  }

  async function versions(): Promise<Record<number, string>> {
    const { rows } = await bed.pool.query<{ id: number; ops: string }>(
      `SELECT sales_order_id AS id, string_agg(op || '@' || source_lsn || '/' || source_seq, ' ' ORDER BY source_lsn, source_seq) AS ops FROM ${bed.schema}.fact_sales_order GROUP BY 1`,
    );
    return Object.fromEntries(rows.map((r) => [r.id, r.ops]));
  }

  it('waits for every shard\'s copy, so an older delete loaded late is never doubled; one d per absent live row; idempotent', async () => {
    await writeBatch(bed.bucket.store, { ...dims(100n), fact_sales_order: [1, 2, 3, 4, 5].map((id) => salesFact(id, 100n)) });
    await bed.load();
    // Sales orders 4 and 5 were deleted before the snapshot at 500; 5's delete is still in flight on shard 0.
    const record = reconcile({ table: 'sales_order', keys: [1, 2, 3], shards: ['shard-0', 'shard-1'] });
    await writeReconcileManifest(bed.bucket.store, [{ copyShards: ['shard-1'], record }]);
    await bed.load();
    expect((await versions())[4], 'not applied before the copy of shard 0 is loaded').toBe('c@100/0');

    await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(5, 300n, { op: 'd' })] });
    await writeReconcileManifest(bed.bucket.store, [{ copyShards: ['shard-0'], record }]);
    await bed.load();
    const applied = await versions();
    expect(applied).toEqual({ 1: 'c@100/0', 2: 'c@100/0', 3: 'c@100/0', 4: 'c@100/0 d@500/-1', 5: 'c@100/0 d@300/0' });
    const { rows } = await bed.pool.query(`SELECT event_id, commit_ts FROM ${bed.schema}.fact_sales_order WHERE op = 'd' AND sales_order_id = 4`);
    expect(rows).toEqual([{ event_id: 'reconcile/sales_order/4@0/1F4/-1', commit_ts: new Date('2026-11-22T13:00:00.000Z') }]);

    // A copy delivered again (a retry), and the same reconcile under another manifest: nothing more.
    await writeReconcileManifest(bed.bucket.store, [{ copyShards: ['shard-0', 'shard-1'], record }]);
    await bed.load();
    expect(await versions()).toEqual(applied);
    expect((await bed.pool.query(`SELECT reconcile_id, rows_deleted FROM ${bed.schema}.reconcile_applied`)).rows).toEqual([{ reconcile_id: record.id, rows_deleted: 1 }]);
  });

  it('looks only below its own version: a row deleted while blind and inserted again later gets its d in between, whichever loads first', async () => {
    await writeBatch(bed.bucket.store, { ...dims(100n), fact_sales_order: [1, 2].map((id) => salesFact(id, 100n)) });
    // The re-insert (after the snapshot) loads before the reconcile.
    await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(2, 600n, { units_sold: 9 })] });
    await writeReconcileManifest(bed.bucket.store, [{ copyShards: ['s'], record: reconcile({ table: 'sales_order', keys: [1] }) }]);
    await bed.load();
    expect(await versions()).toEqual({ 1: 'c@100/0', 2: 'c@100/0 d@500/-1 c@600/0' });
  });

  it('honours its key range, and marks dimension rows deleted at its version (joined ones too, by their own row\'s version)', async () => {
    await writeBatch(bed.bucket.store, dims(100n));
    await bed.load();
    await writeReconcileManifest(bed.bucket.store, [
      // Designs (.., 2]: 1 exists, 2 is gone; 3 is outside the range and untouched.
      { copyShards: ['s'], record: reconcile({ table: 'design', id: 'd', keys: [1], keyTo: 2 }) },
      { copyShards: ['s'], record: reconcile({ table: 'staff', id: 's', keys: [1] }) },
      // department feeds no table of its own: accepted, nothing to do.
      { copyShards: ['s'], record: reconcile({ table: 'department', id: 'p', keys: [] }) },
    ]);
    await bed.load();
    const dim = async (table: string, key: string) =>
      (await bed.pool.query(`SELECT ${key} AS id, is_deleted, version_lsn::int AS lsn, version_seq AS seq FROM ${bed.schema}.${table} ORDER BY 1`)).rows;
    expect(await dim('dim_design', 'design_id')).toEqual([
      { id: 1, is_deleted: false, lsn: 100, seq: 0 },
      { id: 2, is_deleted: true, lsn: 500, seq: -1 },
      { id: 3, is_deleted: false, lsn: 100, seq: 0 },
    ]);
    expect(await dim('dim_staff', 'staff_id')).toEqual([
      { id: 1, is_deleted: false, lsn: 100, seq: 1 },
      { id: 2, is_deleted: true, lsn: 500, seq: -1 },
    ]);
  });

  it('several reconciles in one manifest: each applies when its own shards\' copies are in, once; one named twice in a manifest applies once', async () => {
    await writeBatch(bed.bucket.store, { ...dims(100n), fact_sales_order: [10, 11, 12, 13].map((id) => salesFact(id, 100n)) });
    await bed.load();
    const open = reconcile({ id: 'snapshot/sales_order/open', table: 'sales_order', keys: [10, 11, 12], shards: ['shard-0'], lsn: '0/1F4' });
    const waiting = reconcile({ id: 'snapshot/sales_order/waiting', table: 'sales_order', keys: [10, 11], shards: ['shard-0', 'shard-1'], lsn: '0/258' });
    await writeReconcileManifest(bed.bucket.store, [
      { copyShards: ['shard-0'], record: open },
      { copyShards: ['shard-0'], record: waiting },
    ]);
    await bed.load();
    let now = await versions();
    expect(now[13], 'its only shard is in: applied').toBe('c@100/0 d@500/-1');
    expect(now[12], 'shard 1 is missing: not applied yet').toBe('c@100/0');

    // The other copy, named twice in one manifest (it goes reconcile by reconcile).
    await writeReconcileManifest(bed.bucket.store, [
      { copyShards: ['shard-1'], record: waiting },
      { copyShards: ['shard-1'], record: waiting },
    ]);
    await bed.load();
    now = await versions();
    expect(now[12]).toBe('c@100/0 d@600/-1');
    expect(now[13], 'dead since 500: no second delete').toBe('c@100/0 d@500/-1');
    expect(now[10]).toBe('c@100/0');
    const { rows } = await bed.pool.query(`SELECT reconcile_id, rows_deleted FROM ${bed.schema}.reconcile_applied ORDER BY reconcile_id`);
    expect(rows).toEqual([
      { reconcile_id: 'snapshot/sales_order/open', rows_deleted: 1 },
      { reconcile_id: 'snapshot/sales_order/waiting', rows_deleted: 1 },
    ]);
  });
});
