import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { WAREHOUSE_TABLES } from '../../contracts/warehouse-model.js';
import { useLoaderTestbed } from '../support/loader-testbed.js';
import {
  counterpartyDim,
  currencyDim,
  dateDim,
  designDim,
  locationDim,
  paymentFact,
  salesFact,
  staffDim,
  writeBatch,
} from '../support/processed-batch-factory.js';

/** Every row of every star table (and the ledger), as JSON, in a stable order. */
async function dumpWarehouse(pool: pg.Pool, schema = 'star'): Promise<Record<string, unknown[]>> {
  const dump: Record<string, unknown[]> = {};
  for (const table of [...WAREHOUSE_TABLES, 'load_ledger']) {
    const { rows } = await pool.query(`SELECT to_jsonb(t)::text AS row FROM ${schema}.${table} t ORDER BY 1`);
    dump[table] = rows.map((r) => r.row);
  }
  return dump;
}

describe('loader: loading manifests exactly once', () => {
  // A fresh schema and bucket per test: tests stay independent on one database.
  const bed = useLoaderTestbed('loader_load', 'star_');
  const { load } = bed;

  const fullDims = (lsn: bigint) => ({
    dim_date: ['2022-11-03', '2022-11-07', '2022-11-10'].map(dateDim),
    dim_staff: [staffDim(1, lsn, { last_name: "O'Brien \\ back\nslash" })],
    dim_location: [locationDim(1, lsn)],
    dim_currency: [currencyDim(1, 'GBP', lsn)],
    dim_design: [designDim(1, lsn)],
    dim_counterparty: [counterpartyDim(1, lsn)],
  });

  it('loads a manifest with exact values, and loading again changes nothing', async () => {
    await writeBatch(bed.bucket.store, {
      ...fullDims(100n),
      fact_sales_order: [salesFact(1, 200n, { unit_price: '12345678.99', created_time: '23:59:59.999' }), salesFact(2, 200n, { source_seq: 1, unit_price: '0.01' })],
    });
    const first = await load();
    expect(first).toMatchObject({ status: 'completed', manifestsLoaded: 1, manifestsFailed: 0, rowsByTable: { fact_sales_order: 2, dim_staff: 1, dim_date: 3 } });
    expect(first.inferredMembers).toBe(0);
    expect(first.newestCommitTs).toBe('2026-11-22T12:00:00.123Z');
    expect(first.freshnessMs).toBeGreaterThan(0);

    const { rows } = await bed.pool.query(
      `SELECT sales_order_id, unit_price::text, created_date::text, created_time::text, commit_ts AT TIME ZONE 'UTC' AS commit_utc, source_lsn::text, op, event_id
       FROM ${bed.schema}.fact_sales_order ORDER BY sales_order_id`,
    );
    expect(rows[0]).toMatchObject({ sales_order_id: 1, unit_price: '12345678.99', created_date: '2022-11-03', created_time: '23:59:59.999', source_lsn: '200', op: 'c' });
    expect((rows[0].commit_utc as Date).getTime()).toBe(Date.parse('2026-11-22T12:00:00.123'));
    expect(rows[1]).toMatchObject({ sales_order_id: 2, unit_price: '0.01' });
    const staff = await bed.pool.query(`SELECT last_name, version_lsn::text FROM ${bed.schema}.dim_staff`);
    expect(staff.rows).toEqual([{ last_name: "O'Brien \\ back\nslash", version_lsn: '100' }]);
    const location = await bed.pool.query(`SELECT district, address_line_2 FROM ${bed.schema}.dim_location`);
    expect(location.rows).toEqual([{ district: 'Tab\there', address_line_2: null }]);
    const date = await bed.pool.query(`SELECT to_jsonb(d) - 'loaded_at' AS d FROM ${bed.schema}.dim_date d WHERE date_id = '2022-11-03'`);
    expect(date.rows[0].d).toEqual({ date_id: '2022-11-03', year: 2022, month: 11, day: 3, day_of_week: 4, day_name: 'Thursday', month_name: 'November', quarter: 4 });

    const before = await dumpWarehouse(bed.pool, bed.schema);
    const second = await load();
    expect(second).toMatchObject({ manifestsLoaded: 0, manifestsSkipped: 0, rowsLoaded: 0 });
    // Even when the ledger forgets nothing but the listing window sees everything again, the ledger wins.
    const third = await load({ lookbackMs: 10 ** 9 });
    expect(third.manifestsLoaded).toBe(0);
    expect(await dumpWarehouse(bed.pool, bed.schema)).toEqual(before);
  });

  it('skips a reprocessed batch (same batchId under a new manifest key) and dedupes facts across batches by event id', async () => {
    const facts = [salesFact(1, 200n), salesFact(2, 201n)];
    const first = await writeBatch(bed.bucket.store, { ...fullDims(100n), fact_sales_order: facts });
    await load();
    const before = await dumpWarehouse(bed.pool, bed.schema);
    await writeBatch(bed.bucket.store, { ...fullDims(100n), fact_sales_order: facts }, { batchId: first.manifest.batchId });
    const again = await load();
    expect(again).toMatchObject({ manifestsLoaded: 0, manifestsSkipped: 1 });
    // A different batch boundary over overlapping events: only the new event is inserted.
    await writeBatch(bed.bucket.store, { fact_sales_order: [facts[1], salesFact(3, 202n)] });
    const overlap = await load();
    expect(overlap).toMatchObject({ manifestsLoaded: 1, rowsByTable: { fact_sales_order: 1 } });
    const after = await dumpWarehouse(bed.pool, bed.schema);
    expect(after.fact_sales_order).toHaveLength(3);
    expect(after.dim_staff).toEqual(before.dim_staff);
  });

  it('never lets a lower dimension version overwrite a newer one', async () => {
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(1, 500n, { first_name: 'Newest' }), staffDim(2, 10n, { first_name: 'Old', version_seq: 2 })] });
    await writeBatch(bed.bucket.store, {
      dim_staff: [
        staffDim(1, 400n, { first_name: 'Late replay' }),
        staffDim(2, 10n, { first_name: 'Same version', version_seq: 2 }),
        staffDim(2, 10n, { first_name: 'Higher seq', version_seq: 3 }),
        staffDim(2, 10n, { first_name: 'Lower seq in same file', version_seq: 1 }),
      ],
    });
    await load();
    const { rows } = await bed.pool.query(`SELECT staff_id, first_name, version_lsn::text, version_seq FROM ${bed.schema}.dim_staff ORDER BY staff_id`);
    expect(rows).toEqual([
      { staff_id: 1, first_name: 'Newest', version_lsn: '500', version_seq: 0 },
      { staff_id: 2, first_name: 'Higher seq', version_lsn: '10', version_seq: 3 },
    ]);
  });

  it('creates inferred members for facts that arrive before their dimensions, completed later', async () => {
    await writeBatch(bed.bucket.store, { fact_payment: [paymentFact(7, 300n, { payment_date: '2024-02-29' })] });
    const first = await load();
    expect(first).toMatchObject({ manifestsLoaded: 1, rowsByTable: { fact_payment: 1 } });
    // transaction, counterparty, currency, payment type (4) + dates 2022-11-03 and 2024-02-29 (2)
    expect(first.inferredMembers).toBe(6);
    const inferred = await bed.pool.query(`SELECT to_jsonb(t) - 'loaded_at' AS r FROM ${bed.schema}.dim_transaction t`);
    expect(inferred.rows[0].r).toEqual({ transaction_id: 7, transaction_type: null, sales_order_id: null, purchase_order_id: null, version_lsn: 0, version_seq: 0, is_deleted: false });
    const leap = await bed.pool.query(`SELECT to_jsonb(d) - 'loaded_at' AS d FROM ${bed.schema}.dim_date d WHERE date_id = '2024-02-29'`);
    expect(leap.rows[0].d).toEqual(dateDim('2024-02-29'));

    await writeBatch(bed.bucket.store, {
      dim_transaction: [{ transaction_id: 7, transaction_type: 'SALE', sales_order_id: 3, purchase_order_id: null, version_lsn: 290n, version_seq: 0, is_deleted: false }],
    });
    await load();
    const completed = await bed.pool.query(`SELECT transaction_type, sales_order_id, version_lsn::text FROM ${bed.schema}.dim_transaction`);
    expect(completed.rows).toEqual([{ transaction_type: 'SALE', sales_order_id: 3, version_lsn: '290' }]);
  });

  it('provides current state (latest non-deleted version) and ordered history views', async () => {
    await writeBatch(bed.bucket.store, {
      fact_sales_order: [
        salesFact(1, 100n, { op: 'r', units_sold: 1, commit_ts: '2026-01-01T00:00:00.000Z' }),
        salesFact(1, 300n, { op: 'u', units_sold: 3, source_seq: 1, commit_ts: '2026-01-03T00:00:00.000Z' }),
        salesFact(1, 300n, { op: 'u', units_sold: 2, source_seq: 0, commit_ts: '2026-01-03T00:00:00.000Z' }),
        salesFact(2, 100n, { op: 'c', commit_ts: '2026-01-01T00:00:00.000Z' }),
        salesFact(2, 400n, { op: 'd', commit_ts: '2026-01-04T00:00:00.000Z' }),
      ],
    });
    await load();
    const current = await bed.pool.query(`SELECT sales_order_id, units_sold FROM ${bed.schema}.fact_sales_order_current ORDER BY sales_order_id`);
    expect(current.rows).toEqual([{ sales_order_id: 1, units_sold: 3 }]);
    const history = await bed.pool.query(
      `SELECT sales_order_id, version::int, op, units_sold, valid_from AT TIME ZONE 'UTC' AS f, valid_to AT TIME ZONE 'UTC' AS t, is_current FROM ${bed.schema}.fact_sales_order_history`,
    );
    const d = (s: string) => new Date(`${s}T00:00:00`);
    expect(history.rows).toEqual([
      { sales_order_id: 1, version: 1, op: 'r', units_sold: 1, f: d('2026-01-01'), t: d('2026-01-03'), is_current: false },
      { sales_order_id: 1, version: 2, op: 'u', units_sold: 2, f: d('2026-01-03'), t: d('2026-01-03'), is_current: false },
      { sales_order_id: 1, version: 3, op: 'u', units_sold: 3, f: d('2026-01-03'), t: null, is_current: true },
      { sales_order_id: 2, version: 1, op: 'c', units_sold: 100, f: d('2026-01-01'), t: d('2026-01-04'), is_current: false },
      { sales_order_id: 2, version: 2, op: 'd', units_sold: 100, f: d('2026-01-04'), t: null, is_current: false },
    ]);
  });

  it('returns immediately when another loader holds the lock', async () => {
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(1, 1n)] });
    const holder = await bed.pool.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [0x70ad, bed.schema]);
      const started = performance.now();
      const summary = await load();
      expect(summary.status).toBe('locked');
      expect(summary.manifestsLoaded).toBe(0);
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      await holder.query('SELECT pg_advisory_unlock_all()');
      holder.release();
    }
    expect((await load()).manifestsLoaded).toBe(1);
  });

  it('loads only up to maxManifests per run, in key order, and picks up out-of-order manifests inside the lookback window', async () => {
    const t = (s: number) => new Date(Date.parse('2026-11-23T10:00:00Z') + s * 1000).toISOString();
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(1, 1n)] }, { createdAt: t(0) });
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(2, 1n)] }, { createdAt: t(600) });
    expect((await load({ maxManifests: 1 })).manifestsLoaded).toBe(1);
    expect((await load({ maxManifests: 1 })).manifestsLoaded).toBe(1);
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(3, 1n)] }, { createdAt: t(1200) });
    expect((await load({ lookbackMs: 60_000 })).manifestsLoaded).toBe(1);
    // A slow processor writes a manifest that sorts before already-loaded keys but inside the window.
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(4, 1n)] }, { createdAt: t(1170) });
    // ...and one far behind the window, which listing no longer sees (documented limit of the window).
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(5, 1n)] }, { createdAt: t(300) });
    expect((await load({ lookbackMs: 60_000 })).manifestsLoaded).toBe(1);
    const { rows } = await bed.pool.query(`SELECT staff_id FROM ${bed.schema}.dim_staff ORDER BY 1`);
    expect(rows.map((r) => r.staff_id)).toEqual([1, 2, 3, 4]);
  });

  it('keeps the live listing position independent of manifests loaded from another prefix (replay)', async () => {
    const t = (s: number) => new Date(Date.parse('2026-11-23T10:00:00Z') + s * 1000).toISOString();
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(1, 1n)] }, { createdAt: t(0) });
    expect((await load()).manifestsLoaded).toBe(1);
    // A replay written much later, under its own prefix, loaded into the same schema and ledger.
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(2, 1n)] }, { createdAt: t(7200), prefix: 'replay/r1/' });
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(4, 1n)] }, { createdAt: t(7260), prefix: 'replay/r1/' });
    expect((await load({ prefix: 'replay/r1/manifests/' })).manifestsLoaded).toBe(2);
    // A live manifest written after the first one but before the replay still gets loaded.
    await writeBatch(bed.bucket.store, { dim_staff: [staffDim(3, 1n)] }, { createdAt: t(60) });
    expect((await load({ lookbackMs: 1_000 })).manifestsLoaded).toBe(1);
    const { rows } = await bed.pool.query(`SELECT staff_id FROM ${bed.schema}.dim_staff ORDER BY 1`);
    expect(rows.map((r) => r.staff_id)).toEqual([1, 2, 3, 4]);
  });
});
