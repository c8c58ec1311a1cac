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
  if (integers && fitsSpanBitSet(min, max, present)) return integersBySpan(rows, columns, min, max);
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

/** Integers spread wider than this per integer go through a Set or Map (a bit set would be mostly empty). */
const MAX_SPAN_PER_KEY = 64;

/** Whether `count` integers within [min, max] are close enough together for a SpanBitSet. */
export function fitsSpanBitSet(min: number, max: number, count: number): boolean {
  return count > 0 && max - min < MAX_SPAN_PER_KEY * count;
}

/** The integers of [min, max] seen so far, a bit each: `add` says whether a value is new. */
export class SpanBitSet {
  private readonly words: Uint32Array;

  constructor(
    private readonly min: number,
    max: number,
  ) {
    this.words = new Uint32Array(Math.floor((max - min) / 32) + 1);
  }

  add(value: number): boolean {
    const offset = value - this.min;
    const word = Math.floor(offset / 32);
    const bit = 1 << offset % 32;
    if (this.words[word]! & bit) return false;
    this.words[word]! |= bit;
    return true;
  }
}

function integersBySpan(rows: readonly WarehouseRow[], columns: readonly string[], min: number, max: number): number[] {
  const seen = new SpanBitSet(min, max);
  const keys: number[] = [];
  for (const column of columns) {
    for (let i = 0; i < rows.length; i++) {
      const key = rows[i]![column];
      if (typeof key === 'number' && seen.add(key)) keys.push(key);
    }
  }
  return keys;
}
