import { describe, expect, it } from 'vitest';
import { reconcileDeleteSql, reconcileKeyOrder } from '../../loader/reconcile-sql.js';
import type { ReconcileRecord } from '../../contracts/reconcile.js';

const record = (keyAfter: number | null, keyTo: number | null, keys: number[]): ReconcileRecord => ({
  kind: 'reconcile',
  v: 1,
  id: 'snapshot/sales_order/0/1F4/1',
  table: 'sales_order',
  lsn: '0/1F4',
  seq: -1,
  commitTs: '2026-12-07T12:00:00.000Z',
  reason: 'snapshot',
  keyAfter,
  keyTo,
  keys,
  shards: null,
});

describe('reconcile bounds: key order, and the text order of snapshots before the fix', () => {
  it('compares a range that holds its keys as numbers in key order', () => {
    expect(reconcileKeyOrder(record(1000, 2000, [1001, 1500, 2000]))).toBe('key');
    expect(reconcileKeyOrder(record(null, null, [3, 1, 2]))).toBe('key');
    expect(reconcileKeyOrder(record(2000, null, []))).toBe('key');
    const sql = reconcileDeleteSql('star', record(1000, 2000, [1001]))!;
    expect(sql.text).toContain('AND x."sales_order_id" > $');
    expect(sql.text).not.toContain('COLLATE');
  });

  it('compares a chunk read in text order (1899 after, 688 up to) as text', () => {
    // Keys 1..2345 in text order: the second 1,000-key chunk runs from '19' to '688'.
    const textOrder = Array.from({ length: 2345 }, (_, i) => i + 1).sort((a, b) => (String(a) < String(b) ? -1 : 1));
    const second = textOrder.slice(1000, 2000);
    expect([second[0], second.at(-1)]).toEqual([19, 688]);
    const legacy = record(1899, 688, second);
    expect(reconcileKeyOrder(legacy)).toBe('text');
    const sql = reconcileDeleteSql('star', legacy)!;
    expect(sql.text).toContain('AND x."sales_order_id"::text COLLATE "C" > $');
    expect(sql.text).toContain('AND x."sales_order_id"::text COLLATE "C" <= $');
    expect(sql.values).toContain('1899');
    expect(sql.values).toContain('688');
  });

  it('refuses a record whose keys lie outside its range in either order', () => {
    expect(() => reconcileKeyOrder(record(1000, 2000, [1500, 30]))).toThrow(/outside its range \(1000, 2000\]/);
    expect(() => reconcileDeleteSql('star', record(10, 20, [5]))).toThrow(/not applied/);
  });
});
