import type { WarehouseRow } from '../contracts/warehouse-row.js';

/**
 * Values that depend on nothing but a file's rows (its COPY stream, its distinct keys, the check of
 * its snapshot reads, its newest row per key), kept with the rows array they were computed from.
 * The loader reads the next manifests while Postgres runs the transaction before
 * (manifest-load-queue.ts): computed then (load-manifest.ts prepareAhead), they are off the path
 * where Postgres waits for the loader between statements (docs/performance-loader.md, round six).
 *
 * Keyed by the array and a name. A fetched manifest's rows never change once read; an array that
 * has grown since (the only change a caller could make without making a new one is adding rows)
 * is computed again. Only `keep` keeps anything: rows nobody prepared (a group's gathered rows, a
 * bulk load's) get their values computed when asked, and nothing held beyond that.
 */
const kept = new WeakMap<readonly WarehouseRow[], { length: number; values: Map<string, unknown> }>();

export interface RowsValue<T> {
  /** Computes the value for `rows` now and keeps it with them. */
  keep(rows: readonly WarehouseRow[]): void;
  /** The value kept for `rows`, else computed now (and not kept). */
  of(rows: readonly WarehouseRow[]): T;
}

export function rowsValue<T>(name: string, compute: (rows: readonly WarehouseRow[]) => T): RowsValue<T> {
  return {
    keep(rows) {
      let entry = kept.get(rows);
      if (!entry || entry.length !== rows.length) kept.set(rows, (entry = { length: rows.length, values: new Map() }));
      entry.values.set(name, compute(rows));
    },
    of(rows) {
      const entry = kept.get(rows);
      return entry && entry.length === rows.length && entry.values.has(name) ? (entry.values.get(name) as T) : compute(rows);
    },
  };
}
