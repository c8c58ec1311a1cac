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
import { applyReconciles } from './apply-reconciles.js';

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
  const { client, schema, store, manifestKey, manifest, logger } = args;
  const started = performance.now();
  await client.query('BEGIN');
  try {
    if (await isBatchLoaded(client, schema, manifest.batchId)) {
      await client.query('ROLLBACK');
      return { status: 'skipped', batchId: manifest.batchId, reason: 'already loaded' };
    }
    const rows: Partial<Record<WarehouseTable, number>> = {};
    let inferredMembers = 0;
    const staged = new Set<WarehouseTable>();
    // The files are fetched together (one round trip of latency instead of one per file); a
    // manifest's files are one micro-batch, so holding them all is bounded.
    const ordered = loadOrder(manifest.files);
    const fetched = await Promise.all(ordered.map((file) => readManifestFile(store, manifestKey, file, args.parquetLimits)));
    for (const [index, file] of ordered.entries()) {
      const spec = WAREHOUSE_MODEL[file.table];
      const fileRows = fetched[index];
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
    // After the rows: a reconcile looks at versions below its own (apply-reconciles.ts).
    await applyReconciles(client, schema, manifestKey, manifest.reconciles, logger);
    const recorded = await recordLoadedBatch(client, schema, manifestKey, manifest, rows as Record<string, number>, performance.now() - started);
    if (!recorded) {
      await client.query('ROLLBACK');
      return { status: 'skipped', batchId: manifest.batchId, reason: 'already loaded' };
    }
    await recordWatermarks(client, schema, manifestKey, manifest.watermarks);
    await client.query('COMMIT');
    logger.debug('manifest loaded', { manifestKey, batchId: manifest.batchId, rows, inferredMembers });
    return { status: 'loaded', batchId: manifest.batchId, rows, inferredMembers, maxCommitTs: manifest.maxCommitTs };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
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
