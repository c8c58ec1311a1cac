import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WAREHOUSE_MODEL } from '../../contracts/warehouse-model.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { copyBinary } from '../../loader/copy-rows.js';
import { FIRST_DIMENSION_VERSIONS_MIN_ROWS } from '../../loader/first-versions.js';
import { fetchManifestRows, loadFetchedManifests, type FetchedManifest } from '../../loader/load-manifest.js';
import { migrateWarehouseSchema } from '../../loader/warehouse-schema.js';
import { silentLogger } from '../../platform/logger.js';
import { useTestPool } from '../support/loader-testbed.js';
import { createProcessedBucket, dateDim, designDim, paymentFact, salesFact, staffDim, writeBatch, type ProcessedBucket, type WrittenBatch } from '../support/processed-batch-factory.js';
import { dumpWarehouse } from '../support/warehouse-dump.js';

/**
 * A fetched manifest's loads are prepared by the reader (load-manifest.ts prepareAhead: COPY
 * streams, referenced keys, the snapshot reads' check, newest rows per key, kept with the rows,
 * rows-ahead.ts). Differential: the same manifests loaded with those values and with every file's
 * rows in fresh arrays (nothing kept: all computed at load time) give the same warehouse and the
 * same ledger counts, through the paths they take: straight-in COPYs of dimension and fact files,
 * merges, inferred members, a fact file falling back to staging on a repeated event id.
 */
const N = FIRST_DIMENSION_VERSIONS_MIN_ROWS;
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const day = (i: number) => new Date(Date.UTC(2022, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);

describe('loader: loads prepared while reading ahead', () => {
  const bed = useTestPool('loader_prepared_ahead');
  let bucket: ProcessedBucket;
  const batches: WrittenBatch[] = [];
  beforeAll(async () => {
    bucket = await createProcessedBucket();
    const store = bucket.store;
    // 1: a first sync's shape: new dimension keys (a key twice, the newer must win), dates,
    // snapshot reads of facts naming designs no manifest brings (inferred members).
    const designs = [...range(1, N).map((id) => designDim(id, 10n)), designDim(7, 12n, { design_name: 'newer' })];
    const reads = range(1, 150).map((id) => salesFact(id, 10n, { op: 'r', design_id: id % 3 === 0 ? 5000 + id : 1 + (id % N), created_date: day(id % 40) }));
    batches.push(await writeBatch(store, { dim_design: designs, dim_staff: range(1, N).map((id) => staffDim(id, 10n)), dim_date: range(0, 40).map((i) => dateDim(day(i))), fact_sales_order: reads }));
    // 2: changes after the reads, a read of a row with a version before it, dimension rows of held keys (the merge).
    const changes = [...range(1, 60).map((id) => salesFact(id, 20n, { op: 'u', units_sold: id + 1 })), salesFact(500, 19n, { op: 'c' }), salesFact(500, 21n, { op: 'r' })];
    batches.push(await writeBatch(store, { dim_design: range(50, N).map((id) => designDim(id, id % 2 ? 20n : 5n, { design_name: `v2 ${id}` })), fact_sales_order: changes }));
    // 3: payments, and sales facts that repeat event ids of manifest 1 (their COPY fails, the staging way skips them).
    batches.push(await writeBatch(store, { fact_payment: range(1, 120).map((id) => paymentFact(id, 30n, { op: 'r' })), fact_sales_order: [...reads.slice(0, 20), salesFact(900, 31n, { op: 'c' })] }));
  });
  afterAll(async () => {
    await bucket?.cleanup();
  });

  async function loadAll(schema: string, fresh: boolean): Promise<{ rows: unknown[] }> {
    const client = await bed.pool.connect();
    try {
      await migrateWarehouseSchema(client, schema, silentLogger);
      const results = [];
      for (const { manifestKey, manifest } of batches) {
        const fetched = await fetchManifestRows(bucket.store, manifestKey, manifest);
        const loaded: FetchedManifest = fresh ? { ...fetched, files: fetched.files.map(({ file, rows }) => ({ file, rows: rows.map((row): WarehouseRow => ({ ...row })) })) } : fetched;
        results.push(...(await loadFetchedManifests(client, schema, [loaded], silentLogger)));
      }
      return { rows: results.map((r) => (r.status === 'loaded' ? r.rows : r.status)) };
    } finally {
      client.release();
    }
  }

  it('gives the warehouse and ledger counts that computing everything at load time gives', async () => {
    const atLoad = await loadAll('star_at_load', true);
    const ahead = await loadAll('star_ahead', false);
    expect(ahead).toEqual(atLoad);
    const expected = await dumpWarehouse(bed.db.url, 'star_at_load');
    expect(await dumpWarehouse(bed.db.url, 'star_ahead')).toEqual(expected);
    expect(expected.dim_design.find((r) => r[0] === '7')![1]).toBe('newer');
    expect(expected.dim_design.length).toBeGreaterThan(N); // inferred members too
    const ledger = async (schema: string) => (await bed.pool.query(`SELECT rows FROM ${schema}.load_ledger ORDER BY manifest_key`)).rows;
    expect(await ledger('star_ahead')).toEqual(await ledger('star_at_load'));
  });

  it('keeps what it prepared with the rows read: the COPY stream is not encoded again', async () => {
    const { manifestKey, manifest } = batches[0]!;
    const fetched = await fetchManifestRows(bucket.store, manifestKey, manifest);
    for (const { file, rows } of fetched.files) {
      const encoded = copyBinary(WAREHOUSE_MODEL[file.table].columns);
      expect(encoded.of(rows)).toBe(encoded.of(rows));
      expect(encoded.of(rows)).not.toBe(encoded.of([...rows]));
    }
  });
});
