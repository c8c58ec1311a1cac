import type { Logger } from '../platform/logger.js';
import type { BatchManifest, ManifestFile } from '../contracts/manifest.js';
import { WAREHOUSE_MODEL, WAREHOUSE_TABLES, type DimensionName, type DimensionSpec, type FactSpec, type WarehouseTable } from '../contracts/warehouse-model.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import type { ObjectStore } from '../bucket/object-store.js';
import { copyBinary, copyRows } from './copy-rows.js';
import { rowsValue } from './rows-ahead.js';
import { ManifestRejectedError } from './loader-errors.js';
import { isBatchLoaded, recordLoadedBatch, recordWatermarks } from './load-ledger.js';
import { copyIntoDimensionSql, copyIntoFactSql, copyIntoStagingSql, createStagingSql, inferredMembersForKeysSql, insertFactSql, mergeDimensionSql, referencedDimensions, truncateStagingSql } from './load-sql.js';
import { readManifestFile } from './manifest-reader.js';
import type { ParquetReadLimits } from '../parquet/parquet-bounds.js';
import type { WarehouseClient } from './warehouse-pool.js';
import { applyReconciles } from './apply-reconciles.js';
import { factKeyCheckMode, withoutRowTriggers } from './fact-key-checks.js';
import { FIRST_DIMENSION_VERSIONS_MIN_ROWS, firstVersionReads, newestPerKey, noDimensionRowsOf, noVersionsOf, type FirstVersionReads } from './first-versions.js';
import { ident } from './warehouse-ddl.js';
import { arrayParameter } from './array-parameter.js';
import { distinctKeys } from './distinct-keys.js';

/**
 * Loads manifests into the star schema. Each manifest: dimensions (version-guarded upserts), then
 * for each fact file the inferred members it needs and its rows (exactly once by event id), then
 * its ledger row. One manifest, or several (loadFetchedManifests), go in ONE transaction: any
 * error rolls everything back, so a crash or a bad file never leaves a batch half loaded, and a
 * batch already in the ledger is skipped: re-loading is a no-op.
 * Memory: the rows of the manifests of one transaction (the caller bounds how many).
 */
export type LoadManifestResult =
  | { status: 'loaded'; batchId: string; rows: Partial<Record<WarehouseTable, number>>; inferredMembers: number; maxCommitTs: string }
  | { status: 'skipped'; batchId: string; reason: 'already loaded' };

/** A manifest with its files' rows read, verified and decoded (fetchManifestRows), in load order. */
export interface FetchedManifest {
  manifestKey: string;
  manifest: BatchManifest;
  files: { file: ManifestFile; rows: WarehouseRow[] }[];
}

/** Dimensions first (dim_date first of all), then facts, each group in model order. */
export function loadOrder(files: readonly ManifestFile[]): ManifestFile[] {
  const rank = (table: WarehouseTable) => WAREHOUSE_TABLES.indexOf(table);
  return [...files].sort((a, b) => rank(a.table) - rank(b.table) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Reads a manifest's files (all at once: one round trip of latency instead of one per file; a
 * manifest's files are one micro-batch, so holding them is bounded) and prepares their loads (prepareAhead).
 * Needs no database: a loader fetches the next manifests while Postgres is busy with the current ones.
 */
export async function fetchManifestRows(store: ObjectStore, manifestKey: string, manifest: BatchManifest, parquetLimits?: ParquetReadLimits): Promise<FetchedManifest> {
  const ordered = loadOrder(manifest.files);
  const rows = await Promise.all(
    ordered.map(async (file) => {
      const fileRows = await readManifestFile(store, manifestKey, file, parquetLimits);
      prepareAhead(file.table, fileRows);
      return fileRows;
    }),
  );
  return { manifestKey, manifest, files: ordered.map((file, i) => ({ file, rows: rows[i]! })) };
}

/**
 * What the load of a file's rows computes from the rows alone, computed now and kept with them
 * (rows-ahead.ts): its COPY stream (straight in or into staging: the same columns), and for a fact
 * file the keys its inferred members are looked for by and the check of its snapshot reads, for a
 * dimension file its newest row per key. The reader calls this while Postgres runs the
 * transaction before; the load then finds the values instead of computing them between statements.
 */
export function prepareAhead(table: WarehouseTable, rows: readonly WarehouseRow[]): void {
  const spec = WAREHOUSE_MODEL[table];
  copyBinary(spec.columns).keep(rows);
  if (spec.kind === 'fact') {
    referencedKeys(spec as FactSpec).keep(rows);
    snapshotReads(spec as FactSpec).keep(rows);
  } else if (rows.length >= FIRST_DIMENSION_VERSIONS_MIN_ROWS) {
    newestRows(spec as DimensionSpec).keep(rows);
  }
}

/** Per referenced dimension (model order), its distinct non-null keys among the rows as a query parameter; dimensions none of the rows names left out. */
const referencedKeys = (spec: FactSpec) =>
  rowsValue(`${spec.name} referenced keys`, (rows) => {
    const lists: { dimension: DimensionName; keys: unknown }[] = [];
    for (const [dimension, columns] of referencedDimensions(spec)) {
      const keys = distinctKeys(rows, columns);
      if (keys.length > 0) lists.push({ dimension, keys: arrayParameter(keys) });
    }
    return lists;
  });

/** firstVersionReads of a file with snapshot reads (`r` rows); undefined for a file without. */
const snapshotReads = (spec: FactSpec) =>
  rowsValue<FirstVersionReads | null | undefined>(`${spec.name} snapshot reads`, (rows) => (rows.some((row) => row.op === 'r') ? firstVersionReads(spec, rows) : undefined));

/** newestPerKey of a dimension file, and its keys. */
const newestRows = (spec: DimensionSpec) =>
  rowsValue(`${spec.name} newest per key`, (rows) => {
    const newest = newestPerKey(spec, rows);
    return { newest, keys: newest.map((row) => row[spec.key]) };
  });

/**
 * Thrown by loadFetchedManifests for a group of several manifests when one of them turns out to
 * be recorded in the ledger by someone else meanwhile (the loader lock makes that all but
 * impossible); the group is rolled back and the caller loads its manifests one by one.
 */
export class GroupConflictError extends Error {}

/**
 * Loads fetched manifests, in order, in ONE transaction (one commit for many small manifests when
 * a loader is behind), each with its own ledger row: the result equals loading them one after
 * another (each manifest's statements are the same, in the same order). A manifest already in the
 * ledger, also one loaded earlier in the same group, is skipped. Any error rolls back the whole
 * group: the caller then loads the manifests one by one, so a bad manifest is failed alone and
 * the others load (run-loader.ts).
 */
export async function loadFetchedManifests(client: WarehouseClient, schema: string, manifests: readonly FetchedManifest[], logger: Logger): Promise<LoadManifestResult[]> {
  const results: LoadManifestResult[] = [];
  const staged = new Set<WarehouseTable>();
  await client.query('BEGIN');
  try {
    for (const { manifestKey, manifest, files } of manifests) {
      const started = performance.now();
      if (await isBatchLoaded(client, schema, manifest.batchId)) {
        results.push({ status: 'skipped', batchId: manifest.batchId, reason: 'already loaded' });
        continue;
      }
      const rows: Partial<Record<WarehouseTable, number>> = {};
      let inferredMembers = 0;
      for (const { file, rows: fileRows } of files) {
        const spec = WAREHOUSE_MODEL[file.table];
        await runForTable(manifestKey, file.table, async () => {
          let loaded: number;
          if (spec.kind === 'dimension') {
            loaded = await mergeDimensionRows(client, schema, spec as DimensionSpec, fileRows, staged);
          } else {
            const keys = await insertInferredMembers(client, schema, spec as FactSpec, fileRows);
            inferredMembers += keys.inferred;
            loaded = await insertFactRows(client, schema, spec as FactSpec, fileRows, staged, { keysHeld: keys.held });
          }
          rows[file.table] = (rows[file.table] ?? 0) + loaded;
        });
      }
      // After the rows: a reconcile looks at versions below its own (apply-reconciles.ts).
      await applyReconciles(client, schema, manifestKey, manifest.reconciles, logger);
      if (!(await recordLoadedBatch(client, schema, manifestKey, manifest, rows as Record<string, number>, performance.now() - started))) {
        if (manifests.length > 1) throw new GroupConflictError(`batch ${manifest.batchId} was recorded by another loader meanwhile`);
        await client.query('ROLLBACK');
        return [{ status: 'skipped', batchId: manifest.batchId, reason: 'already loaded' }];
      }
      await recordWatermarks(client, schema, manifestKey, manifest.watermarks);
      results.push({ status: 'loaded', batchId: manifest.batchId, rows, inferredMembers, maxCommitTs: manifest.maxCommitTs });
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
  for (const [i, result] of results.entries()) {
    if (result.status === 'loaded') logger.debug('manifest loaded', { manifestKey: manifests[i]!.manifestKey, batchId: result.batchId, rows: result.rows, inferredMembers: result.inferredMembers });
  }
  return results;
}

/**
 * Rows into the table's temp staging table: on its first use in the transaction made if the
 * session has none yet (it is empty then: emptied at every commit), emptied first on a later one.
 */
export async function stage(client: WarehouseClient, spec: (typeof WAREHOUSE_MODEL)[WarehouseTable], rows: readonly WarehouseRow[], staged: Set<WarehouseTable>): Promise<void> {
  await client.query(staged.has(spec.name) ? truncateStagingSql(spec) : createStagingSql(spec));
  staged.add(spec.name);
  await copyRows(client, (format) => copyIntoStagingSql(spec, format), spec.columns, rows);
}

/**
 * A dimension file's rows under rule D1 (mergeDimensionSql). Fast path (first-versions.ts): rows
 * of keys the table does not hold yet go in by one COPY of the newest row per key, in a savepoint
 * (a key another session wrote meanwhile fails it on the primary key: rolled back, merged instead).
 * Otherwise the staging COPY and the merge.
 */
export async function mergeDimensionRows(client: WarehouseClient, schema: string, spec: DimensionSpec, rows: readonly WarehouseRow[], staged: Set<WarehouseTable>, how?: { returnKeys?: false }): Promise<number>;
/** With returnKeys: 'all' when one row per key of `rows` went in (`rows` has one per key, as a group's have), else the keys (as text) the merge wrote. */
export async function mergeDimensionRows(client: WarehouseClient, schema: string, spec: DimensionSpec, rows: readonly WarehouseRow[], staged: Set<WarehouseTable>, how: { returnKeys: true }): Promise<'all' | string[]>;
export async function mergeDimensionRows(client: WarehouseClient, schema: string, spec: DimensionSpec, rows: readonly WarehouseRow[], staged: Set<WarehouseTable>, how: { returnKeys?: boolean } = {}): Promise<number | 'all' | string[]> {
  if (rows.length >= FIRST_DIMENSION_VERSIONS_MIN_ROWS) {
    const { newest, keys } = newestRows(spec).of(rows);
    if (await noDimensionRowsOf(client, schema, spec, keys)) {
      await client.query('SAVEPOINT dimension_copy');
      try {
        await copyRows(client, (format) => copyIntoDimensionSql(schema, spec, format), spec.columns, newest);
        await client.query('RELEASE SAVEPOINT dimension_copy');
        return how.returnKeys ? 'all' : newest.length;
      } catch (error) {
        if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
        await client.query('ROLLBACK TO SAVEPOINT dimension_copy');
      }
    }
  }
  await stage(client, spec, rows, staged);
  if (!how.returnKeys) return (await client.query(mergeDimensionSql(schema, spec))).rowCount ?? 0;
  // RETURNING the key of every row written attributes it to the manifest it came from (load-manifests-together.ts).
  const { rows: written } = await client.query<{ k: string }>(`${mergeDimensionSql(schema, spec)} RETURNING ${ident(spec.key)}::text AS k`);
  return written.map((r) => r.k);
}

/** SQLSTATE unique_violation: a fact row whose event id is already loaded, a dimension key already held. */
const UNIQUE_VIOLATION = '23505';

/**
 * A fact file's rows under the fact version rules (insertFactSql). Fast path: a COPY straight into
 * the table, no staging copy, no INSERT ... SELECT, for
 *  - a file without snapshot reads (`r` rows): it is subject to one rule only, "an event id already
 *    loaded adds nothing" (F1), which the table's UNIQUE (event_id) enforces during the COPY;
 *  - a file whose `r` rows are their source rows' first versions (first-versions.ts: a first sync):
 *    F2 keeps every one of them, so F1 is again the only rule. Checked in memory and with one
 *    probe of the table before the COPY.
 * A file that repeats a loaded event id (a batch processed again after a crash, regrouped) fails
 * that COPY; it is rolled back to the savepoint and goes the staging way, which skips the loaded
 * ones. Other files with `r` rows go the staging way (the rule for them looks at the versions
 * before each row).
 */
export async function insertFactRows(client: WarehouseClient, schema: string, spec: FactSpec, rows: readonly WarehouseRow[], staged: Set<WarehouseTable>, how: FactInsert & { returnEventIds?: false }): Promise<number>;
/** With returnEventIds: 'all' when every row went in, else the event ids of the rows written (a group's ledger counts, load-manifests-together.ts). */
export async function insertFactRows(client: WarehouseClient, schema: string, spec: FactSpec, rows: readonly WarehouseRow[], staged: Set<WarehouseTable>, how: FactInsert & { returnEventIds: true }): Promise<'all' | string[]>;
export async function insertFactRows(client: WarehouseClient, schema: string, spec: FactSpec, rows: readonly WarehouseRow[], staged: Set<WarehouseTable>, how: FactInsert & { returnEventIds?: boolean }): Promise<number | 'all' | string[]> {
  const load = async () => {
    const reads = snapshotReads(spec).of(rows);
    if (reads === undefined || (reads !== null && (await noVersionsOf(client, schema, spec, reads.sourceIds)))) {
      await client.query('SAVEPOINT fact_copy');
      try {
        await copyRows(client, (format) => copyIntoFactSql(schema, spec, format), spec.columns, rows);
        await client.query('RELEASE SAVEPOINT fact_copy');
        return how.returnEventIds ? ('all' as const) : rows.length;
      } catch (error) {
        if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
        await client.query('ROLLBACK TO SAVEPOINT fact_copy');
      }
    }
    await stage(client, spec, rows, staged);
    if (!how.returnEventIds) return (await client.query(insertFactSql(schema, spec))).rowCount ?? 0;
    const { rows: written } = await client.query<{ k: string }>(`${insertFactSql(schema, spec)} RETURNING event_id::text AS k`);
    return written.map((r) => r.k);
  };
  return how.keysHeld ? withoutRowTriggers(client, load) : load();
}

export interface FactInsert {
  /** Every key the rows reference is held by this transaction (insertInferredMembers' `held`): the per-row foreign-key triggers are skipped. */
  keysHeld: boolean;
}

/**
 * Inferred members for every dimension key the rows reference that no dimension row has yet
 * (load-sql.ts), with the keys collected here: one statement, no pass over a staging table.
 * In set-based key-check mode (fact-key-checks.ts) the same statement holds every referenced key,
 * and `held` says whether the rows may go in without the per-row checks.
 */
export async function insertInferredMembers(client: WarehouseClient, schema: string, spec: FactSpec, rows: readonly WarehouseRow[]): Promise<{ inferred: number; held: boolean }> {
  const holdKeys = (await factKeyCheckMode(client, schema)) === 'set-based';
  const lists = referencedKeys(spec).of(rows);
  if (lists.length === 0) return { inferred: 0, held: holdKeys };
  const sql = inferredMembersForKeysSql(schema, lists.map((l) => l.dimension), { holdKeys });
  const { rows: result } = await client.query<{ inferred: string; held?: boolean }>(sql, lists.map((l) => l.keys));
  return { inferred: Number(result[0]?.inferred ?? 0), held: holdKeys && result[0]?.held === true };
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
