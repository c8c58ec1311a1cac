import { describe, expect, it } from 'vitest';
import { WAREHOUSE_MODEL, type DimensionSpec } from '../../contracts/warehouse-model.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { FIRST_DIMENSION_VERSIONS_MIN_ROWS, newestPerKey } from '../../loader/first-versions.js';
import { useFastAndStagedLoads } from '../support/fast-and-staged-loads.js';
import { dateDim, designDim, salesFact, staffDim, writeBatch } from '../support/processed-batch-factory.js';
import { dumpWarehouse } from '../support/warehouse-dump.js';

/**
 * Dimension files whose keys the dimension does not hold yet (a first sync) go in by one COPY of
 * the newest row per key instead of the staging COPY and the version-guarded merge
 * (loader/first-versions.ts, load-manifest.ts mergeDimensionRows). Differential: the same
 * manifests loaded that way and the merge way (the operator's switch
 * `totesys_cdc.snapshot_reads = 'staged'`) give the same warehouse and the same ledger counts, one
 * manifest per transaction and in groups; the COPY is taken when it may (the statements tell), and
 * a key another session writes meanwhile sends the file the merge way.
 */
const N = FIRST_DIMENSION_VERSIONS_MIN_ROWS;
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const day = (i: number) => new Date(Date.UTC(2022, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);

describe('loader: first versions of dimension rows go straight in', () => {
  const loads = useFastAndStagedLoads('loader_first_dimensions', 'star_d');
  const { bed, load } = loads;
  const ledgerRows = async (schema: string) => (await bed.pool.query(`SELECT rows FROM ${schema}.load_ledger ORDER BY manifest_key`)).rows.map((r: { rows: Record<string, number> }) => r.rows);
  const straightCopies = (schema: string, statements: string[]) => statements.filter((s) => s.startsWith(`COPY "${schema}"."dim_`)).map((s) => /"(dim_\w+)"/.exec(s)![1]);
  const merges = (schema: string, statements: string[]) => statements.filter((s) => s.startsWith(`INSERT INTO "${schema}"."dim_`) && s.includes('SELECT DISTINCT ON')).length;

  it("a first sync's dimension rows go in by COPY, newest version per key, and the warehouse equals the merge way's", async () => {
    const prefix = 'first/';
    // 1: new keys only, several versions of some keys in the file (the newest must win whatever its
    // place), joined versions deciding between rows of one own version, dates, and facts using them.
    const designs = [...range(1, N).map((id) => designDim(id, 10n)), designDim(5, 12n, { design_name: 'newer' }), designDim(6, 9n, { design_name: 'older' })];
    const staff = [...range(1, N).map((id) => staffDim(id, 10n)), staffDim(7, 10n, { joined_version_lsn: 3n, department_name: 'Joined later' })];
    const dates = range(0, N).map((i) => dateDim(day(i)));
    await writeBatch(loads.bucket.store, { dim_design: designs, dim_staff: staff, dim_date: dates, fact_sales_order: [salesFact(1, 10n, { design_id: 5, sales_staff_id: 7 })] }, { prefix });
    // 2: keys the table holds (newer, older and equal versions) with a few new ones: the merge way.
    await writeBatch(loads.bucket.store, { dim_design: [...range(50, N).map((id) => designDim(id, id % 3 === 0 ? 20n : id % 3 === 1 ? 5n : 10n, { design_name: `v2 ${id}` }))] }, { prefix });
    // 3: new keys again, with a row of a key manifest 2 brought.
    await writeBatch(loads.bucket.store, { dim_design: [...range(1000, N).map((id) => designDim(id, 30n)), designDim(50, 31n, { design_name: 'v3' })] }, { prefix });
    // 4: a small file of new keys: the merge way (no probe below the threshold).
    await writeBatch(loads.bucket.store, { dim_design: [designDim(5000, 40n)] }, { prefix });
    const reference = await load(prefix, { staged: true, perTransaction: 1 });
    expect(straightCopies(reference.schema, reference.statements)).toEqual([]);
    const expected = await dumpWarehouse(bed.db.url, reference.schema);
    expect(expected.dim_design.find((r) => r[0] === '5')![1]).toBe('newer');
    expect(expected.dim_staff.find((r) => r[0] === '7')![3]).toBe('Joined later');

    const single = await load(prefix, { staged: false, perTransaction: 1 });
    expect(await dumpWarehouse(bed.db.url, single.schema)).toEqual(expected);
    expect(await ledgerRows(single.schema)).toEqual(await ledgerRows(reference.schema));
    expect(single.summary.rowsByTable).toEqual(reference.summary.rowsByTable);
    // Manifest 1's three dimensions straight in; 2 merged (the probe found its keys); 3 merged too
    // (key 50 is held); 4 merged (small).
    expect(straightCopies(single.schema, single.statements).sort()).toEqual(['dim_date', 'dim_design', 'dim_staff']);
    expect(merges(single.schema, single.statements)).toBe(3);

    // One group: the dimension rows of all four manifests (one per key, the newest) are new keys at once.
    const grouped = await load(prefix, { staged: false, perTransaction: 50 });
    const groupedReference = await load(prefix, { staged: true, perTransaction: 50 });
    expect(await dumpWarehouse(bed.db.url, grouped.schema)).toEqual(expected);
    expect(grouped.summary.rowsByTable).toEqual(groupedReference.summary.rowsByTable);
    expect(await ledgerRows(grouped.schema)).toEqual(await ledgerRows(groupedReference.schema));
    expect(straightCopies(grouped.schema, grouped.statements).sort()).toEqual(['dim_date', 'dim_design', 'dim_staff']);
    expect(merges(grouped.schema, grouped.statements)).toBe(0);
  }, 60_000);

  it('a key another session commits while the COPY runs sends the file the merge way, which keeps the newer row', async () => {
    const prefix = 'writer/';
    await writeBatch(loads.bucket.store, { dim_design: range(1, N).map((id) => designDim(id, 10n)) }, { prefix });
    const [fast, reference] = [loads.nextSchema('star_w'), loads.nextSchema('star_w')];
    const writer = await bed.pool.connect();
    // Another session's row of key 3, newer than the file's (D1 keeps it), and of key 4, older (replaced).
    const write = (schema: string) =>
      writer.query(`INSERT INTO ${schema}.dim_design (design_id, design_name, version_lsn, version_seq, is_deleted) VALUES (3, 'writer', 20, 0, false), (4, 'writer', 5, 0, false)`);
    try {
      for (const schema of [fast, reference]) await load('none/', { staged: false, perTransaction: 1, schema });
      await write(reference);
      await load(prefix, { staged: true, perTransaction: 1, schema: reference });
      // Uncommitted when the load starts: the probe does not see it, the COPY waits on key 3, fails when it commits.
      await writer.query('BEGIN');
      await write(fast);
      const loading = load(prefix, { staged: false, perTransaction: 1, schema: fast });
      await loads.untilALoadWaitsOnALock();
      await writer.query('COMMIT');
      const loaded = await loading;
      expect(loaded.statements).toContain('ROLLBACK TO SAVEPOINT dimension_copy');
      expect(merges(fast, loaded.statements)).toBe(1);
      const dump = await dumpWarehouse(bed.db.url, fast);
      expect(dump).toEqual(await dumpWarehouse(bed.db.url, reference));
      expect(dump.dim_design.filter((r) => r[1] === 'writer').map((r) => r[0])).toEqual(['3']);
      expect(await ledgerRows(fast)).toEqual(await ledgerRows(reference));
    } finally {
      await writer.query('ROLLBACK').catch(() => {});
      writer.release();
    }
  }, 60_000);

  it('newest row per key in memory: the highest version, the first of equal ones', () => {
    const spec = WAREHOUSE_MODEL.dim_staff as DimensionSpec;
    const rows: WarehouseRow[] = [staffDim(1, 5n, { first_name: 'a' }), staffDim(2, 5n), staffDim(1, 5n, { first_name: 'b' }), staffDim(1, 4n, { first_name: 'c' }), staffDim(1, 5n, { first_name: 'd', joined_version_lsn: 1n }), staffDim(3, 1n)];
    expect(newestPerKey(spec, rows).map((r) => [r.staff_id, r.first_name])).toEqual([[1, 'd'], [2, 'First2'], [3, 'First3']]);
  });
});
