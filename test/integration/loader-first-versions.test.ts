import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { useFastAndStagedLoads } from '../support/fast-and-staged-loads.js';
import { dateDim, paymentFact, salesFact, staffDim, writeBatch } from '../support/processed-batch-factory.js';
import { dumpWarehouse } from '../support/warehouse-dump.js';

/**
 * Snapshot reads that are their source rows' first versions (a first sync) go straight into the
 * fact table (loader/first-versions.ts, load-manifest.ts insertFactRows). Differential: the same
 * manifests loaded that way and the staging way (the same code with the operator's switch
 * `totesys_cdc.snapshot_reads = 'staged'`, which is how every `r` row loaded before) must give the
 * same warehouse and ledger fact counts, one manifest per transaction and in groups; and the fast
 * way must really be taken when it may, and not when it may not (the statements sent tell).
 */
const snapshotRead = (id: number, lsn: bigint, over: WarehouseRow = {}) => salesFact(id, lsn, { op: 'r', source_seq: -1, event_id: `snapshot/sales_order/${id}@${lsn.toString(16)}`, ...over });

describe('loader: first versions of snapshot reads go straight in', () => {
  const loads = useFastAndStagedLoads('loader_first_versions', 'star_f');
  const { bed, load } = loads;
  const ledgerFacts = async (schema: string) =>
    (await bed.pool.query(`SELECT rows FROM ${schema}.load_ledger ORDER BY manifest_key`)).rows.map((r: { rows: Record<string, number> }) => r.rows.fact_sales_order ?? 0);
  const stagedFactCopies = (statements: string[]) => statements.filter((s) => s.startsWith('COPY "stage_fact_')).length;
  const straightFactCopies = (schema: string, statements: string[]) => statements.filter((s) => s.startsWith(`COPY "${schema}"."fact_`)).length;

  it("a first sync's snapshot reads go in by COPY, and the warehouse equals the staging way's", async () => {
    const prefix = 'first/';
    await writeBatch(loads.bucket.store, { dim_date: [dateDim('2022-11-03')], dim_staff: [staffDim(1, 5n)], fact_sales_order: [1, 2, 3, 4].map((id) => snapshotRead(id, 100n)) }, { prefix });
    // The next batch of the snapshot, with a change committed meanwhile to a row read before (in
    // the same file as later reads) and a new row.
    await writeBatch(loads.bucket.store, { fact_sales_order: [snapshotRead(5, 100n), snapshotRead(6, 100n), salesFact(1, 101n, { op: 'u', units_sold: 7 }), salesFact(9, 102n)], fact_payment: [paymentFact(1, 100n, { op: 'r', source_seq: -1 })] }, { prefix });
    // A read and a later change of the same row in one file.
    await writeBatch(loads.bucket.store, { fact_sales_order: [snapshotRead(7, 100n), salesFact(7, 103n, { op: 'd' })] }, { prefix });
    const reference = await load(prefix, { staged: true, perTransaction: 1 });
    expect(stagedFactCopies(reference.statements)).toBe(4);
    for (const perTransaction of [1, 50]) {
      const fast = await load(prefix, { staged: false, perTransaction });
      expect(stagedFactCopies(fast.statements)).toBe(0);
      expect(straightFactCopies(fast.schema, fast.statements)).toBe(perTransaction === 1 ? 4 : 2);
      expect(await dumpWarehouse(bed.db.url, fast.schema)).toEqual(await dumpWarehouse(bed.db.url, reference.schema));
      if (perTransaction === 1) expect(await ledgerFacts(fast.schema)).toEqual(await ledgerFacts(reference.schema));
      expect(fast.summary.rowsLoaded).toBe(reference.summary.rowsLoaded);
    }
  }, 60_000);

  it('falls back to the staging way when the table holds a version of a read row, when the file has one before it, or when it repeats a loaded event', async () => {
    const prefix = 'fallback/';
    const changed = { units_sold: 7 };
    // 1: first versions (straight in). 2: a re-snapshot of rows 1 and 2 (1 unchanged, 2 changed) and
    // a new row 3: the table holds versions of 1 and 2, so the file goes the staging way and F2
    // drops the unchanged read of 1. 3: row 4 created then read in one file (a version before the
    // read). 4: manifest 1's reads delivered again with a new read (a loaded event id).
    await writeBatch(loads.bucket.store, { fact_sales_order: [snapshotRead(1, 100n), snapshotRead(2, 100n)] }, { prefix });
    await writeBatch(loads.bucket.store, { fact_sales_order: [snapshotRead(1, 200n), snapshotRead(2, 200n, changed), snapshotRead(3, 200n)] }, { prefix });
    await writeBatch(loads.bucket.store, { fact_sales_order: [salesFact(4, 150n), snapshotRead(4, 200n)] }, { prefix });
    await writeBatch(loads.bucket.store, { fact_sales_order: [snapshotRead(1, 100n), snapshotRead(2, 100n), snapshotRead(5, 200n)] }, { prefix });
    const reference = await load(prefix, { staged: true, perTransaction: 1 });
    const fast = await load(prefix, { staged: false, perTransaction: 1 });
    expect(await dumpWarehouse(bed.db.url, fast.schema)).toEqual(await dumpWarehouse(bed.db.url, reference.schema));
    expect(await ledgerFacts(fast.schema)).toEqual(await ledgerFacts(reference.schema));
    expect(await ledgerFacts(fast.schema)).toEqual([2, 2, 1, 1]); // F2 drops the unchanged read of 1, and the read of 4 equal to its create
    // Manifest 1 straight in; 2, 3 and 4 the staging way without trying a COPY (4: the table holds its repeated reads).
    expect(straightFactCopies(fast.schema, fast.statements)).toBe(1);
    expect(stagedFactCopies(fast.statements)).toBe(3);
    expect(fast.statements.filter((s) => s === 'ROLLBACK TO SAVEPOINT fact_copy')).toHaveLength(0);
  }, 60_000);

  it('another writer: a version another session committed first sends the file the staging way; one it is still writing of the same event makes the COPY wait, then the event goes in once', async () => {
    const prefix = 'writer/';
    await writeBatch(loads.bucket.store, { fact_sales_order: [snapshotRead(1, 100n), snapshotRead(2, 100n), snapshotRead(3, 100n)] }, { prefix });
    // Another session's rows, written straight into a schema (its tables made by an empty run):
    // row 2's create at 90 (equal content: F2 drops the read of 2), committed before the load, and
    // the very event of row 3's read, still being written when the load starts.
    const [fast, reference] = [loads.nextSchema('star_w'), loads.nextSchema('star_w')];
    const writer = await bed.pool.connect();
    const write = async (schema: string, row: WarehouseRow) => {
      const columns = Object.keys(row);
      await writer.query(`SET session_replication_role = replica`); // its dimension rows are the loader's inferred members
      await writer.query(
        `INSERT INTO ${schema}.fact_sales_order (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
        columns.map((c) => (typeof row[c] === 'bigint' ? String(row[c]) : row[c])),
      );
      await writer.query(`SET session_replication_role = DEFAULT`);
    };
    try {
      for (const schema of [fast, reference]) {
        await load('none/', { staged: false, perTransaction: 1, schema });
        await write(schema, salesFact(2, 90n, { event_id: 'writer/2@90' }));
      }
      await write(reference, snapshotRead(3, 100n));
      const expected = await load(prefix, { staged: true, perTransaction: 1, schema: reference });
      await writer.query('BEGIN');
      await write(fast, snapshotRead(3, 100n));
      const loading = load(prefix, { staged: false, perTransaction: 1, schema: fast });
      // The loader waits on the writer's uncommitted event id (the unique index), then it commits.
      await loads.untilALoadWaitsOnALock();
      await writer.query('COMMIT');
      const loaded = await loading;
      expect(await dumpWarehouse(bed.db.url, fast)).toEqual(await dumpWarehouse(bed.db.url, reference));
      expect(await ledgerFacts(fast)).toEqual(await ledgerFacts(reference));
      expect(await ledgerFacts(fast)).toEqual([1]); // only row 1's read is the loader's
      expect(expected.summary.rowsLoaded).toBe(loaded.summary.rowsLoaded);
      // The check saw row 2's committed version: no COPY straight in, the staging way at once.
      expect(straightFactCopies(fast, loaded.statements)).toBe(0);
      expect(stagedFactCopies(loaded.statements)).toBe(1);
    } finally {
      await writer.query('ROLLBACK').catch(() => {});
      writer.release();
    }
  }, 60_000);

  it('random histories cut into manifests give the same warehouse either way (property)', async () => {
    // Per sales order, versions in order: a first read or a create, then changes, deletes and reads
    // again (equal or not to the version before); the stream is cut anywhere into manifests, and a
    // manifest may be delivered again.
    const step = fc.record({ order: fc.integer({ min: 1, max: 8 }), op: fc.constantFrom('r', 'r', 'c', 'u', 'd'), units: fc.constantFrom(100, 101), cut: fc.integer({ min: 0, max: 3 }).map((k) => k === 0), again: fc.boolean() });
    let run = 0;
    let straightWithReads = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (steps) => {
        const prefix = `prop${++run}/`;
        let lsn = 100n;
        let current: WarehouseRow[] = [];
        let last: WarehouseRow[] = [];
        const flush = async () => {
          if (current.length === 0) return;
          await writeBatch(loads.bucket.store, { fact_sales_order: current }, { prefix });
          last = current;
          current = [];
        };
        for (const s of steps) {
          lsn += 1n;
          current.push(s.op === 'r' ? snapshotRead(s.order, lsn, { units_sold: s.units }) : salesFact(s.order, lsn, { op: s.op, units_sold: s.units }));
          if (s.cut) await flush();
          if (s.again && current.length === 0 && last.length > 0) await writeBatch(loads.bucket.store, { fact_sales_order: last }, { prefix });
        }
        await flush();
        const reference = await load(prefix, { staged: true, perTransaction: 1 });
        const expected = await dumpWarehouse(bed.db.url, reference.schema);
        for (const perTransaction of [1, 50]) {
          const fast = await load(prefix, { staged: false, perTransaction });
          expect(await dumpWarehouse(bed.db.url, fast.schema)).toEqual(expected);
          if (perTransaction === 1) expect(await ledgerFacts(fast.schema)).toEqual(await ledgerFacts(reference.schema));
          straightWithReads += fast.statements.filter((s, i) => s.includes(' AS staged,') && fast.statements[i + 1] === 'SAVEPOINT fact_copy').length;
        }
      }),
      { numRuns: 20, seed: 15, endOnFailure: true },
    );
    // The generator makes first-version reads often: the fast way's check ran.
    expect(straightWithReads).toBeGreaterThan(5);
  }, 300_000);
});
