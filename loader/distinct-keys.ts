import type { WarehouseRow } from '../contracts/warehouse-row.js';

/**
 * The distinct non-null values of `columns` over `rows`: the dimension keys a fact file references
 * (load-manifest.ts insertInferredMembers), in no particular order. Integer keys close together
 * (a first sync's transaction ids: 10,000 distinct ones per fact_payment file) are deduplicated
 * with a bit per key of their span instead of a Set, which hashed every one of them; anything else
 * (dates, keys spread wide) goes through a Set, asked only when a column's value changes from the
 * row before (neighbouring rows often share a date or a currency).
 */
export function distinctKeys(rows: readonly WarehouseRow[], columns: readonly string[]): unknown[] {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let integers = true;
  let present = 0;
  for (const column of columns) {
    for (let i = 0; i < rows.length && integers; i++) {
      const key = rows[i]![column];
      if (key === null || key === undefined) continue;
      if (typeof key !== 'number' || !Number.isSafeInteger(key)) integers = false;
      else {
        present++;
        if (key < min) min = key;
        if (key > max) max = key;
      }
    }
  }
  if (integers && present > 0 && max - min < MAX_SPAN_PER_KEY * present) return integersBySpan(rows, columns, min, max);
  const keys = new Set<unknown>();
  for (const column of columns) {
    let last: unknown = null;
    for (const row of rows) {
      const key = row[column];
      if (key !== last && key !== null && key !== undefined) keys.add((last = key));
    }
  }
  return [...keys];
}

/** Keys spread wider than this per key present go through the Set (the bit set would be mostly empty). */
const MAX_SPAN_PER_KEY = 64;

function integersBySpan(rows: readonly WarehouseRow[], columns: readonly string[], min: number, max: number): number[] {
  const seen = new Uint32Array(Math.floor((max - min) / 32) + 1);
  const keys: number[] = [];
  for (const column of columns) {
    for (let i = 0; i < rows.length; i++) {
      const key = rows[i]![column];
      if (typeof key !== 'number') continue;
      const offset = key - min;
      const word = Math.floor(offset / 32);
      const bit = 1 << offset % 32;
      if (seen[word]! & bit) continue;
      seen[word]! |= bit;
      keys.push(key);
    }
  }
  return keys;
}
