import { describe, expect, it } from 'vitest';
import { useLoaderTestbed } from '../support/loader-testbed.js';
import { dumpWarehouse } from '../support/warehouse-dump.js';
import { dateDim, salesFact, staffDim, writeBatch } from '../support/processed-batch-factory.js';

/** Several pending manifests in one transaction (loadManifestKeys in loader/run-loader.ts), exactly once per manifest. */
describe('loader: pending manifests loaded together', () => {
  const bed = useLoaderTestbed('loader_groups', 'star_g');
  const together = { maxManifestsPerTransaction: 50 };

  const ledger = async () =>
    (await bed.pool.query(`SELECT manifest_key, batch_id, loaded_at FROM ${bed.schema}.load_ledger ORDER BY manifest_key`)).rows as { manifest_key: string; batch_id: string; loaded_at: Date }[];

  it('loads a backlog in one transaction with one ledger row per manifest', async () => {
    const written = [];
    for (let i = 1; i <= 6; i++) written.push(await writeBatch(bed.bucket.store, { dim_staff: [staffDim(i, BigInt(10 + i))], fact_sales_order: [salesFact(i, BigInt(100 + i))] }));
    const summary = await bed.load(together);
    expect(summary).toMatchObject({ manifestsLoaded: 6, manifestsFailed: 0, rowsByTable: { fact_sales_order: 6, dim_staff: 6 } });
    const rows = await ledger();
    expect(rows.map((r) => r.manifest_key)).toEqual(written.map((w) => w.manifestKey));
    // One transaction: now() (loaded_at) is the same instant for every manifest of the group.
    expect(new Set(rows.map((r) => r.loaded_at.getTime())).size).toBe(1);
    expect(await bed.count('fact_sales_order')).toBe(6);
    // Loading again changes nothing.
    expect(await bed.load(together)).toMatchObject({ manifestsLoaded: 0 });
    expect(await bed.count('fact_sales_order')).toBe(6);
  });

  it('gives the warehouse that loading the manifests one by one gives: versions across manifests, inferred members completed later', async () => {
    await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(1, 100n, { sales_staff_id: 7 })] }); // staff 7 unknown yet: inferred
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(7, 50n, { first_name: 'Seven' }), staffDim(8, 60n, { first_name: 'Newest' })] });
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(8, 40n, { first_name: 'Late replay' })], dim_date: [dateDim('2022-11-03')] });
    await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(1, 100n, { sales_staff_id: 7 }), salesFact(2, 101n, { sales_staff_id: 8 })] }); // event 1 again
    expect(await bed.load(together)).toMatchObject({ manifestsLoaded: 4, manifestsFailed: 0 });
    expect(new Set((await ledger()).map((r) => r.loaded_at.getTime())).size).toBe(1);
    const dumped = await dumpWarehouse(bed.db.url, bed.schema);
    const ledgerRows = async (schema: string) => (await bed.pool.query(`SELECT manifest_key, rows FROM ${schema}.load_ledger ORDER BY manifest_key`)).rows;
    // One by one (the default: one manifest per transaction) into another schema.
    expect(await bed.load({ schema: `${bed.schema}_one` })).toMatchObject({ manifestsLoaded: 4 });
    expect(dumped).toEqual(await dumpWarehouse(bed.db.url, `${bed.schema}_one`));
    expect(dumped.dim_staff.length).toBe(2);
    expect(dumped.fact_sales_order.length).toBe(2);
    // The ledger counts each fact row to the manifest that brought it, as one-by-one loading does.
    const facts = (rows: { rows: Record<string, number> }[]) => rows.map((r) => r.rows.fact_sales_order ?? 0);
    expect(facts(await ledgerRows(bed.schema))).toEqual(facts(await ledgerRows(`${bed.schema}_one`)));
    expect(facts(await ledgerRows(bed.schema))).toEqual([1, 0, 0, 1]);
  });

  it('a batch written twice under two keys in the same group is loaded once', async () => {
    const facts = [salesFact(1, 200n), salesFact(2, 201n)];
    const first = await writeBatch(bed.bucket.store, { fact_sales_order: facts });
    await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(3, 202n)] });
    await writeBatch(bed.bucket.store, { fact_sales_order: facts }, { batchId: first.manifest.batchId });
    const summary = await bed.load(together);
    expect(summary).toMatchObject({ manifestsLoaded: 2, manifestsSkipped: 1, manifestsFailed: 0 });
    expect((await ledger()).filter((r) => r.batch_id === first.manifest.batchId)).toHaveLength(1);
    expect(await bed.count('fact_sales_order')).toBe(3);
  });

  it('a bad manifest inside a group fails alone: the others load, the failure is recorded once', async () => {
    const good1 = await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(1, 300n)] });
    const bad = await writeBatch(bed.bucket.store, { dim_staff: [staffDim(9, 5n)], fact_sales_order: [salesFact(2, 301n, { op: 'x', source_seq: 1 })] });
    const good2 = await writeBatch(bed.bucket.store, { fact_sales_order: [salesFact(3, 302n)] });
    const summary = await bed.load(together);
    expect(summary).toMatchObject({ manifestsLoaded: 2, manifestsFailed: 1 });
    expect(summary.failures).toEqual([expect.objectContaining({ manifestKey: bad.manifestKey, attempts: 1 })]);
    expect((await ledger()).map((r) => r.manifest_key)).toEqual([good1.manifestKey, good2.manifestKey]);
    const { rows } = await bed.pool.query(`SELECT sales_order_id FROM ${bed.schema}.fact_sales_order ORDER BY 1`);
    expect(rows).toEqual([{ sales_order_id: 1 }, { sales_order_id: 3 }]);
    // Nothing of the bad manifest is left (its staff row was in the rolled-back group, and again in its own failed load).
    expect(await bed.count('dim_staff')).toBe(1); // the inferred member of the good facts (staff 1)
  });
});
