import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { useLoaderTestbed } from '../support/loader-testbed.js';
import { dumpWarehouse } from '../support/warehouse-dump.js';
import { dateDim, salesFact, staffDim, writeBatch } from '../support/processed-batch-factory.js';

/**
 * Differential test of set-based group loading (loader/load-manifests-together.ts): random
 * backlogs of small manifests, loaded together (one transaction, one statement round per table)
 * and one per transaction (the per-manifest statements), must give the same warehouse, the same
 * ledger fact counts, and the group path must really have been taken (one loaded_at).
 *
 * The generator makes what the processor can make: one row per dimension key in a manifest,
 * versions out of order across manifests, two rows of one version with different content (a tie:
 * the first loaded stays), facts referencing staff no manifest brings (inferred members), facts
 * whose staff a later manifest brings, events delivered again in a later manifest (same event id,
 * same row), and snapshot reads (`r`) equal or not to the version before them (rule F2).
 */
const staffRow = fc.record({ key: fc.integer({ min: 1, max: 4 }), version: fc.integer({ min: 1, max: 6 }), name: fc.constantFrom('Ann', 'Bob', 'Cy') });
// A sales order's next version (`step` LSNs after its last one), or its last version delivered
// again (a batch processed again after a crash): each order's versions come in version order, as the
// stream keeps them (F2's precondition, version-rules.ts).
const factRef = fc.record({ order: fc.integer({ min: 1, max: 3 }), step: fc.integer({ min: 1, max: 3 }), again: fc.boolean() });
const manifestSpec = fc.record({ staff: fc.array(staffRow, { maxLength: 3 }), facts: fc.array(factRef, { maxLength: 4 }), date: fc.boolean() });

function factRow(order: number, lsn: number): WarehouseRow {
  const ops = ['c', 'u', 'r', 'r', 'd'] as const;
  return salesFact(order, BigInt(lsn), { op: ops[(order * 7 + lsn) % ops.length], units_sold: 100 + ((order + lsn) % 2), sales_staff_id: 1 + ((order + lsn) % 6) });
}

describe('loader: set-based group loading equals loading one by one', () => {
  const bed = useLoaderTestbed('loader_together', 'star_t');

  it('random backlogs give the same warehouse and ledger fact counts either way', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(manifestSpec, { minLength: 2, maxLength: 6 }), async (specs) => {
        run++;
        const prefix = `run${run}/`;
        const lastLsn = new Map<number, number>();
        for (const spec of specs) {
          const staff = new Map<number, WarehouseRow>();
          for (const s of spec.staff) staff.set(s.key, staffDim(s.key, BigInt(s.version), { first_name: s.name }));
          const facts = new Map<string, WarehouseRow>();
          for (const f of spec.facts) {
            const last = lastLsn.get(f.order);
            const lsn = f.again && last !== undefined ? last : (last ?? 100) + f.step;
            lastLsn.set(f.order, lsn);
            const row = factRow(f.order, lsn);
            facts.set(String(row.event_id), row);
          }
          await writeBatch(bed.bucket.store, {
            ...(staff.size > 0 ? { dim_staff: [...staff.values()] } : {}),
            ...(spec.date ? { dim_date: [dateDim('2022-11-03')] } : {}),
            ...(facts.size > 0 ? { fact_sales_order: [...facts.values()] } : {}),
          }, { prefix });
        }
        const together = `${bed.schema}_g${run}`;
        const oneByOne = `${bed.schema}_o${run}`;
        const options = { prefix: `${prefix}manifests/` };
        const grouped = await bed.load({ ...options, schema: together, maxManifestsPerTransaction: 50 });
        const single = await bed.load({ ...options, schema: oneByOne });
        expect(grouped).toMatchObject({ manifestsLoaded: specs.length, manifestsFailed: 0 });
        expect(single).toMatchObject({ manifestsLoaded: specs.length, manifestsFailed: 0 });
        expect(await dumpWarehouse(bed.db.url, together)).toEqual(await dumpWarehouse(bed.db.url, oneByOne));
        const ledger = async (schema: string) =>
          (await bed.pool.query(`SELECT manifest_key, rows, loaded_at FROM ${schema}.load_ledger ORDER BY manifest_key`)).rows as { rows: Record<string, number>; loaded_at: Date }[];
        const [g, o] = [await ledger(together), await ledger(oneByOne)];
        expect(g.map((r) => r.rows.fact_sales_order ?? 0)).toEqual(o.map((r) => r.rows.fact_sales_order ?? 0));
        expect(new Set(g.map((r) => r.loaded_at.getTime())).size).toBe(1); // one transaction: the group path
        // Loading again adds nothing.
        expect(await bed.load({ ...options, schema: together, maxManifestsPerTransaction: 50 })).toMatchObject({ manifestsLoaded: 0 });
      }),
      { numRuns: 25, seed: 15, endOnFailure: true },
    );
  }, 300_000);
});
