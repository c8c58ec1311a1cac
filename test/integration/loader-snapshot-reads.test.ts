import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { bulkLoadManifests, loadPerManifestAndBulk } from '../support/bulk-load-manifests.js';
import { loadPendingManifests } from '../../loader/run-loader.js';
import { silentLogger } from '../../platform/logger.js';
import { counterpartyDim, currencyDim, dateDim, designDim, locationDim, salesFact, staffDim, writeBatch } from '../support/processed-batch-factory.js';
import { createProcessedBucket } from '../support/processed-batch-factory.js';
import { allTables } from '../support/warehouse-content.js';
import { useWarehouseTestbed } from '../support/warehouse-testbed.js';

/**
 * Version rule F2 (loader/version-rules.ts): a snapshot read (`r`) equal in content to the source
 * row's version before it adds no fact version, a differing one adds exactly one, in the
 * per-manifest loader and in the bulk load of replay --rebuild alike. The scenarios are those of
 * a snapshot redone after a crash (issue 14): the abandoned snapshot at A published some rows, the
 * bridge published the changes committed between A and B, the new snapshot at B reads every row.
 */
const A = 0x1000n;
const B = 0x2000n;
const snapshotRead = (id: number, lsn: bigint, over: WarehouseRow = {}) => salesFact(id, lsn, { op: 'r', source_seq: -1, event_id: `snapshot/sales_order/${id}@${lsn.toString(16)}`, ...over });
const dims = () => ({
  dim_date: ['2022-11-03', '2022-11-07', '2022-11-10'].map(dateDim),
  dim_staff: [staffDim(1, 1n)],
  dim_location: [locationDim(1, 1n)],
  dim_currency: [currencyDim(1, 'GBP', 1n)],
  dim_design: [designDim(1, 1n)],
  dim_counterparty: [counterpartyDim(1, 1n)],
});

/** The manifests of the scenario, in stream order; several versions of one row share some. */
function scenario(): WarehouseRow[][] {
  const changed = { units_sold: 7, last_updated_time: '15:00:00.000' };
  return [
    // The abandoned snapshot at A.
    [snapshotRead(1, A), snapshotRead(2, A), snapshotRead(3, A), snapshotRead(4, A), snapshotRead(6, A)],
    // The bridge: 2 updated, 3 deleted, 4 updated and updated back, 6 updated (and read again in the same batch below).
    [salesFact(2, A + 1n, { op: 'u', ...changed }), salesFact(3, A + 2n, { op: 'd' }), salesFact(4, A + 3n, { op: 'u', ...changed })],
    // 7 was never read at A (the snapshot was abandoned before it) and the bridge updates it.
    [salesFact(4, A + 4n, { op: 'u' }), salesFact(7, A + 6n, { op: 'u', ...changed })],
    // The snapshot at B (5 was never read at A: its first read adds its version); 6 arrives with the
    // bridge's update of it in one manifest, and that same manifest is loaded again later.
    [snapshotRead(1, B), snapshotRead(2, B, changed), snapshotRead(4, B), snapshotRead(5, B), salesFact(6, A + 5n, { op: 'u', ...changed }), snapshotRead(6, B, changed), snapshotRead(7, B, changed)],
    // A third snapshot (say a re-snapshot after a lost slot) that finds 1 changed while blind, 3 back.
    [snapshotRead(1, B + 10n, changed), snapshotRead(2, B + 10n, changed), snapshotRead(3, B + 10n)],
  ];
}

/** The versions each source row must hold, as `op@lsn` (the rule's expected outcome). */
const expected = {
  1: [`r@${A}`, `r@${B + 10n}`],
  2: [`r@${A}`, `u@${A + 1n}`],
  3: [`r@${A}`, `d@${A + 2n}`, `r@${B + 10n}`],
  4: [`r@${A}`, `u@${A + 3n}`, `u@${A + 4n}`],
  5: [`r@${B}`],
  6: [`r@${A}`, `u@${A + 5n}`],
  // Its first read still counts as the snapshot that first saw it (equal to the update, yet its first version).
  7: [`u@${A + 6n}`, `r@${B}`],
};

describe('loader: snapshot reads add a version only for a change (rule F2)', () => {
  const testbed = useWarehouseTestbed('loader_snapshot_reads');

  const versions = async (schema: string) => {
    const { rows } = await testbed.client.query(`SELECT sales_order_id AS id, op, source_lsn::text AS lsn FROM ${schema}.fact_sales_order ORDER BY sales_order_id, source_lsn, source_seq`);
    const out: Record<number, string[]> = {};
    for (const row of rows) (out[row.id] ??= []).push(`${row.op}@${row.lsn}`);
    return out;
  };

  it('per manifest, also when a manifest is loaded twice, and in the bulk load', async () => {
    const bucket = await createProcessedBucket();
    try {
      const batches = scenario();
      const written = [];
      written.push(await writeBatch(bucket.store, dims()));
      for (const rows of batches) written.push(await writeBatch(bucket.store, { fact_sales_order: rows }));
      const live = await loadPendingManifests({ warehouseUrl: testbed.db.url, processed: bucket.store, logger: silentLogger, schema: 'live' });
      expect(live.manifestsFailed).toBe(0);
      expect(await versions('live')).toEqual(expected);

      // The batch holding 6's update and re-read, processed again after a crash (same events, a new manifest).
      await writeBatch(bucket.store, { fact_sales_order: batches[3] });
      await loadPendingManifests({ warehouseUrl: testbed.db.url, processed: bucket.store, logger: silentLogger, schema: 'live' });
      expect(await versions('live')).toEqual(expected);

      await bulkLoadManifests(testbed.db.url, 'bulk', bucket.store, written);
      expect(await versions('bulk')).toEqual(expected);
      expect(await allTables(testbed.client, 'bulk')).toEqual(await allTables(testbed.client, 'live'));
    } finally {
      await bucket.cleanup();
    }
  });

  it('property: any history and any cut into manifests gives the versions the rule defines, live and bulk', async () => {
    // Per source row a history of versions (op and content); r rows are reads at a snapshot point.
    const version = fc.record({ op: fc.constantFrom('c', 'u', 'd', 'r', 'r', 'r'), units: fc.integer({ min: 1, max: 2 }) });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(version, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }), fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 }), async (histories, cuts) => {
        const rows: WarehouseRow[] = [];
        const want: Record<number, string[]> = {};
        histories.forEach((history, i) => {
          const id = i + 1;
          let previous: { op: string; units: number } | undefined;
          let begun = false;
          history.forEach(({ op, units }, n) => {
            const lsn = BigInt(0x100 * (n + 1) + id);
            const row = op === 'r' ? snapshotRead(id, lsn, { units_sold: units }) : salesFact(id, lsn, { op, units_sold: units });
            rows.push(row);
            // The rule, stated directly: an r equal to a non-delete version before it, after a first version, adds nothing.
            const dropped = op === 'r' && previous !== undefined && previous.op !== 'd' && previous.units === units && begun;
            if (!dropped) (want[id] ??= []).push(`${op}@${lsn}`);
            previous = { op, units };
            if (op === 'c' || op === 'r') begun = true;
          });
        });
        // Stream order per row is version order; interleave rows by version, then cut into manifests.
        rows.sort((a, b) => Number((a.source_lsn as bigint) - (b.source_lsn as bigint)));
        const bucket = await createProcessedBucket();
        const schema = `prop_${++run}`;
        try {
          const written = [await writeBatch(bucket.store, dims())];
          for (let at = 0, k = 0; at < rows.length; k++) {
            const size = cuts[k % cuts.length];
            written.push(await writeBatch(bucket.store, { fact_sales_order: rows.slice(at, at + size) }));
            at += size;
          }
          expect(await loadPerManifestAndBulk(testbed.db.url, bucket.store, written, schema, versions)).toEqual({ perManifest: want, bulk: want });
        } finally {
          await bucket.cleanup();
        }
      }),
      { numRuns: 12 },
    );
  }, 180_000);

  it('one row at a time or all in one manifest gives the same versions', async () => {
    const bucket = await createProcessedBucket();
    try {
      await writeBatch(bucket.store, dims());
      await writeBatch(bucket.store, { fact_sales_order: scenario().flat() });
      await loadPendingManifests({ warehouseUrl: testbed.db.url, processed: bucket.store, logger: silentLogger, schema: 'one_manifest' });
      expect(await versions('one_manifest')).toEqual(expected);
    } finally {
      await bucket.cleanup();
    }
  });
});
