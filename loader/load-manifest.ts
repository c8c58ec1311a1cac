import type { Logger } from '../platform/logger.js';
import type { BatchManifest, ManifestFile } from '../contracts/manifest.js';
import { WAREHOUSE_MODEL, WAREHOUSE_TABLES, type DimensionSpec, type FactSpec, type WarehouseTable } from '../contracts/warehouse-model.js';
import type { ObjectStore } from '../bucket/object-store.js';
import { copyRows } from './copy-rows.js';
import { ManifestRejectedError } from './loader-errors.js';
import { isBatchLoaded, recordLoadedBatch, recordWatermarks } from './load-ledger.js';
import { copyIntoStagingSql, createStagingSql, inferredMemberSql, insertFactSql, mergeDimensionSql, truncateStagingSql } from './load-sql.js';
import { readManifestFile } from './manifest-reader.js';
import type { ParquetReadLimits } from '../parquet/parquet-bounds.js';
import type { WarehouseClient } from './warehouse-pool.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';

/**
 * Loads one manifest in ONE transaction: dimensions (version-guarded upserts), then for each fact
 * file the inferred members it needs and its rows (insert-on-conflict by event id), then the
 * ledger row. Any error rolls everything back, so a crash or a bad file never leaves a batch half
 * loaded, and a batch already in the ledger is skipped: re-loading is a no-op.
 * Memory: one manifest's rows at a time (files are micro-batches).
 */
export type LoadManifestResult =
  | { status: 'loaded'; batchId: string; rows: Partial<Record<WarehouseTable, number>>; inferredMembers: number; maxCommitTs: string }
  | { status: 'skipped'; batchId: string; reason: 'already loaded' };

/** Dimensions first (dim_date first of all), then facts, each group in model order. */
export function loadOrder(files: readonly ManifestFile[]): ManifestFile[] {
  const rank = (table: WarehouseTable) => WAREHOUSE_TABLES.indexOf(table);
  return [...files].sort((a, b) => rank(a.table) - rank(b.table) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export async function loadManifest(args: {
  client: WarehouseClient;
  schema: string;
  store: ObjectStore;
  manifestKey: string;
  manifest: BatchManifest;
  logger: Logger;
  /** Bounds on the manifest's Parquet files (default DEFAULT_PARQUET_READ_LIMITS). */
  parquetLimits?: ParquetReadLimits;
}): Promise<LoadManifestResult> {
  const { client, manifest } = args;
  await client.query('BEGIN');
  try {
    const result = await loadManifestInTransaction({ ...args, fetchFiles: () => fetchManifestFiles(args.store, args.manifestKey, manifest, args.parquetLimits), staged: new Set(), startedMs: performance.now() });
    if (result.status !== 'loaded') {
      await client.query('ROLLBACK');
      return { status: 'skipped', batchId: manifest.batchId, reason: 'already loaded' };
    }
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/**
 * A manifest's files in load order with their rows. They are fetched together (one round trip of
 * latency instead of one per file); a manifest's files are one micro-batch, so holding them all is bounded.
 */
export async function fetchManifestFiles(store: ObjectStore, manifestKey: string, manifest: BatchManifest, parquetLimits?: ParquetReadLimits): Promise<{ file: ManifestFile; rows: WarehouseRow[] }[]> {
  const ordered = loadOrder(manifest.files);
  const fetched = await Promise.all(ordered.map((file) => readManifestFile(store, manifestKey, file, parquetLimits)));
  return ordered.map((file, index) => ({ file, rows: fetched[index] }));
}

/**
 * The body of a manifest's load, inside a transaction the caller opened (loadManifest: one
 * manifest; load-manifests-together.ts: several). `skipped`: the ledger already had the batch,
 * nothing was written. `raced`: the rows were written but the ledger row was not (another loader
 * recorded the batch meanwhile): the caller must roll back. `staged` is the set of staging tables
 * this transaction created (they live until it ends). The ledger row's duration counts from `startedMs`.
 */
export async function loadManifestInTransaction(args: {
  client: WarehouseClient;
  schema: string;
  manifestKey: string;
  manifest: BatchManifest;
  logger: Logger;
  fetchFiles: () => Promise<{ file: ManifestFile; rows: WarehouseRow[] }[]>;
  staged: Set<WarehouseTable>;
  startedMs: number;
}): Promise<LoadManifestResult | { status: 'raced'; batchId: string }> {
  const { client, schema, manifestKey, manifest, logger, staged } = args;
  if (await isBatchLoaded(client, schema, manifest.batchId)) return { status: 'skipped', batchId: manifest.batchId, reason: 'already loaded' };
  const rows: Partial<Record<WarehouseTable, number>> = {};
  let inferredMembers = 0;
  for (const { file, rows: fileRows } of await args.fetchFiles()) {
    const spec = WAREHOUSE_MODEL[file.table];
    await runForTable(manifestKey, file.table, async () => {
      await client.query(staged.has(file.table) ? truncateStagingSql(spec) : createStagingSql(spec));
      staged.add(file.table);
      await copyRows(client, (format) => copyIntoStagingSql(spec, format), spec.columns, fileRows);
      if (spec.kind === 'dimension') {
        const result = await client.query(mergeDimensionSql(schema, spec as DimensionSpec));
        rows[file.table] = (rows[file.table] ?? 0) + (result.rowCount ?? 0);
      } else {
        for (const { sql } of inferredMemberSql(schema, spec as FactSpec)) inferredMembers += (await client.query(sql)).rowCount ?? 0;
        const result = await client.query(insertFactSql(schema, spec as FactSpec));
        rows[file.table] = (rows[file.table] ?? 0) + (result.rowCount ?? 0);
      }
    });
  }
  const recorded = await recordLoadedBatch(client, schema, manifestKey, manifest, rows as Record<string, number>, performance.now() - args.startedMs);
  if (!recorded) return { status: 'raced', batchId: manifest.batchId };
  await recordWatermarks(client, schema, manifestKey, manifest.watermarks);
  logger.debug('manifest loaded', { manifestKey, batchId: manifest.batchId, rows, inferredMembers });
  return { status: 'loaded', batchId: manifest.batchId, rows, inferredMembers, maxCommitTs: manifest.maxCommitTs };
}

/** Postgres data errors (class 22) and constraint violations (class 23) reject the manifest, naming the table. */
export async function runForTable(manifestKey: string, table: WarehouseTable, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'))) {
      throw new ManifestRejectedError(manifestKey, table, `${(error as Error).message} (SQLSTATE ${code})`, { cause: error });
    }
    throw error;
  }
}
