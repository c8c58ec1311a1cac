import { describe, expect, it } from 'vitest';
import { WAREHOUSE_MODEL, type FactSpec } from '../../contracts/warehouse-model.js';
import { firstVersionReads } from '../../loader/first-versions.js';
import { salesFact } from '../support/processed-batch-factory.js';

const SALES = WAREHOUSE_MODEL.fact_sales_order as FactSpec;
const read = (id: number, lsn: bigint, seq = 0) => salesFact(id, lsn, { op: 'r', source_seq: seq });

describe('loader: snapshot reads that are first versions, checked in memory (first-versions.ts)', () => {
  it('takes reads with nothing of their source row before them, and changes after them', () => {
    expect(firstVersionReads(SALES, [read(1, 10n), read(2, 10n), salesFact(1, 11n, { op: 'u' }), salesFact(3, 5n, { op: 'c' })])).toEqual({ sourceIds: [1, 2] });
    // A later position in the same transaction is after.
    expect(firstVersionReads(SALES, [read(1, 10n, 0), salesFact(1, 10n, { op: 'u', source_seq: 1 })])).toEqual({ sourceIds: [1] });
  });

  it('refuses a read with a version of its source row before it or at its version, and two reads of one row', () => {
    expect(firstVersionReads(SALES, [salesFact(1, 9n, { op: 'c' }), read(1, 10n)])).toBeNull();
    expect(firstVersionReads(SALES, [read(1, 10n), salesFact(1, 9n, { op: 'u' })])).toBeNull(); // order in the file does not matter
    expect(firstVersionReads(SALES, [read(1, 10n, 1), salesFact(1, 10n, { op: 'u', source_seq: 0 })])).toBeNull();
    expect(firstVersionReads(SALES, [read(1, 10n), read(1, 20n)])).toBeNull();
    expect(firstVersionReads(SALES, [read(1, 10n), { ...read(1, 10n) }])).toBeNull(); // delivered again
  });

  it("a snapshot's file (reads only, ids close together in any order): every id once, a repeated one refused, spread ids alike", () => {
    const ids = [7, 3, 40, 4, 35, 100, 5, 64, 63, 31, 32, 33];
    expect(firstVersionReads(SALES, ids.map((id) => read(id, 10n)))).toEqual({ sourceIds: ids });
    expect(firstVersionReads(SALES, [...ids, 64].map((id) => read(id, 10n)))).toBeNull();
    expect(firstVersionReads(SALES, [...ids, 3].map((id) => read(id, 20n)))).toBeNull();
    // Ids too far apart for a bit per id (the Map way): the same answers.
    const spread = [1, 1_000_000, 5, 2_000_000_000];
    expect(firstVersionReads(SALES, spread.map((id) => read(id, 10n)))).toEqual({ sourceIds: spread });
    expect(firstVersionReads(SALES, [...spread, 1_000_000].map((id) => read(id, 10n)))).toBeNull();
  });

  it('has nothing to say about a file without reads', () => {
    expect(firstVersionReads(SALES, [salesFact(1, 9n, { op: 'c' }), salesFact(1, 10n, { op: 'u' })])).toBeNull();
  });
});
