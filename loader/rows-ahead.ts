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
 * is computed again.
 */
const kept = new WeakMap<readonly WarehouseRow[], { length: number; values: Map<string, unknown> }>();

/** `compute()` for these rows under `name`: the value kept from an earlier call, else computed now and kept. */
export function rowsValue<T>(rows: readonly WarehouseRow[], name: string, compute: () => T): T {
  let entry = kept.get(rows);
  if (entry && entry.length !== rows.length) entry = undefined;
  if (entry?.values.has(name)) return entry.values.get(name) as T;
  const value = compute();
  if (!entry) kept.set(rows, (entry = { length: rows.length, values: new Map() }));
  entry.values.set(name, value);
  return value;
}
