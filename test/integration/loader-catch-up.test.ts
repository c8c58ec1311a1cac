import { describe, expect, it } from 'vitest';
import { WAREHOUSE_TABLES } from '../../contracts/warehouse-model.js';
import { useLoaderTestbed } from '../support/loader-testbed.js';
import { dateDim, paymentFact, salesFact, staffDim, writeBatch } from '../support/processed-batch-factory.js';

/**
 * The loader's catch-up paths (loadManifestKeys, loadFetchedManifests): several manifests in one
 * transaction, and fact files COPYed straight into their table. Neither may change what is loaded.
 */
describe('loader: catching up', () => {
  const bed = useLoaderTestbed('loader_catch_up', 'star_c');

  /** Every table's rows without the columns that depend on when or in which order rows were inserted. */
  async function snapshot(schema: string): Promise<Record<string, unknown[]>> {
    const out: Record<string, unknown[]> = {};
    for (const table of WAREHOUSE_TABLES) {
      const { rows } = await bed.pool.query(`SELECT * FROM ${schema}.${table}`);
      out[table] = rows
        .map((row) => {
          const { loaded_at: _loaded, sales_record_id: _s, purchase_record_id: _p, payment_record_id: _r, ...rest } = row;
          return JSON.stringify(rest);
        })
        .sort();
    }
    return out;
  }

  /** Manifests that exercise every rule: dimension versions out of order, inferred members, a regrouped batch. */
  async function writeWorkload(): Promise<void> {
    const store = bed.bucket.store;
    await writeBatch(store, { dim_staff: [staffDim(1, 20n, { first_name: 'New' })], fact_sales_order: [salesFact(1, 10n), salesFact(2, 10n, { source_seq: 1 })] });
    await writeBatch(store, { dim_staff: [staffDim(1, 15n, { first_name: 'Older' }), staffDim(2, 15n)], fact_sales_order: [salesFact(3, 16n, { sales_staff_id: 7 })] });
    // A batch processed again after a crash, regrouped: one event already loaded, one new.
    await writeBatch(store, { fact_sales_order: [salesFact(3, 16n, { sales_staff_id: 7 }), salesFact(4, 17n, { op: 'u' })] });
    await writeBatch(store, { dim_date: [dateDim('2022-11-03')], fact_payment: [paymentFact(1, 18n), paymentFact(2, 18n, { source_seq: 1 })] });
    await writeBatch(store, { dim_staff: [staffDim(7, 30n)], fact_sales_order: [salesFact(1, 31n, { op: 'd', units_sold: 0 })] });
  }

  it('loading several manifests per transaction gives the warehouse loading them one by one gives', async () => {
    await writeWorkload();
    const one = `${bed.schema}_one`;
    const grouped = await bed.load({ maxManifestsPerTransaction: 50 });
    const single = await bed.load({ schema: one, maxManifestsPerTransaction: 1 });
    // Fact rows count the same; dimension and inferred-member counts may be lower together (set-based:
    // a group's dimension rows go in before its facts, so a key a later manifest brings needs no inferred member).
    expect(grouped).toMatchObject({ manifestsLoaded: 5, manifestsFailed: 0, eventsLoaded: single.eventsLoaded });
    expect([grouped.rowsByTable.fact_sales_order, grouped.rowsByTable.fact_payment]).toEqual([single.rowsByTable.fact_sales_order, single.rowsByTable.fact_payment]);
    expect(grouped.inferredMembers).toBeLessThanOrEqual(single.inferredMembers);
    expect(grouped.rowsByTable.fact_sales_order).toBe(5); // 6 fact rows in the files, one event id twice
    expect(await snapshot(bed.schema)).toEqual(await snapshot(one));
    const again = await bed.load({ maxManifestsPerTransaction: 50 });
    expect(again).toMatchObject({ manifestsLoaded: 0, rowsLoaded: 0 });
    await bed.pool.query(`DROP SCHEMA ${one} CASCADE`);
  });

  it('a bad manifest inside a transaction of several fails alone; the others load', async () => {
    const store = bed.bucket.store;
    await writeBatch(store, { fact_sales_order: [salesFact(1, 10n)] });
    const bad = await writeBatch(store, { dim_staff: [staffDim(1, 5n)], fact_sales_order: [salesFact(2, 11n, { op: 'x' })] });
    await writeBatch(store, { fact_sales_order: [salesFact(3, 12n)] });
    const summary = await bed.load({ maxManifestsPerTransaction: 50 });
    expect(summary).toMatchObject({ manifestsLoaded: 2, manifestsFailed: 1 });
    expect(summary.failures.map((f) => f.manifestKey)).toEqual([bad.manifestKey]);
    const { rows } = await bed.pool.query(`SELECT sales_order_id FROM ${bed.schema}.fact_sales_order ORDER BY 1`);
    expect(rows).toEqual([{ sales_order_id: 1 }, { sales_order_id: 3 }]);
    // The bad manifest's dimension row was rolled back with it: staff 1 is only an inferred member.
    const staff = await bed.pool.query(`SELECT staff_id, version_lsn::int FROM ${bed.schema}.dim_staff`);
    expect(staff.rows).toEqual([{ staff_id: 1, version_lsn: 0 }]);
  });

  it('a fact file repeating a loaded event id (no snapshot reads) loads only its new rows', async () => {
    const store = bed.bucket.store;
    await writeBatch(store, { fact_sales_order: [salesFact(1, 10n), salesFact(2, 10n, { source_seq: 1, op: 'u' })] });
    expect((await bed.load()).rowsByTable.fact_sales_order).toBe(2);
    await writeBatch(store, { fact_sales_order: [salesFact(2, 10n, { source_seq: 1, op: 'u' }), salesFact(3, 11n, { op: 'u' })] });
    const second = await bed.load();
    expect(second).toMatchObject({ manifestsLoaded: 1, manifestsFailed: 0, rowsByTable: { fact_sales_order: 1 } });
    const { rows } = await bed.pool.query(`SELECT sales_order_id, op FROM ${bed.schema}.fact_sales_order ORDER BY 1`);
    expect(rows).toEqual([
      { sales_order_id: 1, op: 'c' },
      { sales_order_id: 2, op: 'u' },
      { sales_order_id: 3, op: 'u' },
    ]);
  });
});
