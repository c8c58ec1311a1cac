import { describe, expect, it } from 'vitest';
import { parseReconcile, RECONCILE_VERSION, serializeReconcile, type ReconcileRecord } from '../../contracts/reconcile.js';
import { reconcileDeleteSql, reconcileKeyOrder } from '../../loader/reconcile-sql.js';

const record = (keyAfter: number | null, keyTo: number | null, keys: number[], over: Partial<ReconcileRecord> = {}): ReconcileRecord => ({
  kind: 'reconcile',
  v: RECONCILE_VERSION,
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
  ...over,
});

/** Keys 1..2345 as the old snapshot cursor read them: in text order. */
const textOrder = Array.from({ length: 2345 }, (_, i) => i + 1).sort((a, b) => (String(a) < String(b) ? -1 : 1));

describe('reconcile bounds: key order, and the text order of version-1 snapshot records', () => {
  it('writes version 2 and reads version 1 too', () => {
    const written = serializeReconcile(record(1000, 2000, [1001]));
    expect(JSON.parse(written).v).toBe(2);
    expect(parseReconcile(written).v).toBe(2);
    expect(parseReconcile(written.replace('"v":2', '"v":1')).v).toBe(1);
    expect(() => parseReconcile(written.replace('"v":2', '"v":3'))).toThrow();
  });

  it('compares a version-2 range in key order', () => {
    expect(reconcileKeyOrder(record(1000, 2000, [1001, 1500, 2000]))).toBe('key');
    expect(reconcileKeyOrder(record(null, null, [3, 1, 2]))).toBe('key');
    const sql = reconcileDeleteSql('star', record(1000, 2000, [1001]))!;
    expect(sql.text).toContain('AND x."sales_order_id" > $');
    expect(sql.text).not.toContain('COLLATE');
  });

  it("compares a version-1 snapshot chunk as text, also the first one, whose keys fit its range in both orders", () => {
    const first = textOrder.slice(0, 1000);
    // (null, 1899]: every key is <= 1899 as a number too, but 2..9 are not in the chunk: only text order is right.
    expect(first.at(-1)).toBe(1899);
    expect(first.every((k) => k <= 1899)).toBe(true);
    expect(reconcileKeyOrder(record(null, 1899, first, { v: 1 }))).toBe('text');
    const second = textOrder.slice(1000, 2000);
    expect([second[0], second.at(-1)]).toEqual([19, 688]);
    const sql = reconcileDeleteSql('star', record(1899, 688, second, { v: 1 }))!;
    expect(sql.text).toContain('AND x."sales_order_id"::text COLLATE "C" > $');
    expect(sql.text).toContain('AND x."sales_order_id"::text COLLATE "C" <= $');
    expect(sql.values).toEqual(expect.arrayContaining(['1899', '688']));
    // A version-1 resnapshot read its chunks in key order.
    expect(reconcileKeyOrder(record(1000, 2000, [1500], { v: 1, reason: 'resnapshot' }))).toBe('key');
  });

  it("accepts a resnapshot's keys outside its range: the keys the stream changed while the chunk was read, from anywhere in the table", () => {
    expect(reconcileKeyOrder(record(1000, 2000, [1500, 30, 9000], { reason: 'resnapshot', id: 'resnapshot/sales_order/0/1F4/1' }))).toBe('key');
    expect(reconcileDeleteSql('star', record(1000, 2000, [1500, 30], { reason: 'resnapshot' }))!.text).toContain('AND x."sales_order_id" <= $');
  });

  it('refuses a snapshot record whose keys lie outside its own range', () => {
    expect(() => reconcileKeyOrder(record(1000, 2000, [1500, 30]))).toThrow(/key 30 lies outside its range \(1000, 2000\] in key order/);
    expect(() => reconcileDeleteSql('star', record(1899, 688, [19, 688]))).toThrow(/not applied/);
    expect(() => reconcileKeyOrder(record(10, 20, [3], { v: 1 }))).toThrow(/in text order/);
  });
});
