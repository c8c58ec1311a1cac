import type { BatchManifest } from '../contracts/manifest.js';
import type { ObjectStore } from '../bucket/object-store.js';
import type { Logger } from '../platform/logger.js';
import type { ParquetReadLimits } from '../parquet/parquet-bounds.js';
import { WAREHOUSE_MODEL, WAREHOUSE_TABLES, type DimensionSpec, type FactSpec, type WarehouseTable } from '../contracts/warehouse-model.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import { copyRows } from './copy-rows.js';
import { recordLoadedBatches, recordWatermarks } from './load-ledger.js';
import { loadOrder, runForTable } from './load-manifest.js';
import { readManifestFile } from './manifest-reader.js';
import { copyIntoStagingSql, createStagingSql, inferredMemberSql, insertFactSql, mergeDimensionSql } from './load-sql.js';
import { ident, LEDGER_TABLE, qualified } from './warehouse-ddl.js';
import { PipelineError } from '../platform/errors.js';
import type { WarehouseClient } from './warehouse-pool.js';

/**
 * Several pending manifests in ONE transaction, so a backlog of small manifests costs the
 * statements and the commit of one load instead of one each (profiled: a manifest's dozen
 * statements, not its rows, were the cost). The group's files are staged together, table by table
 * in load order, and merged with the same statements as one manifest's (load-sql.ts): dimensions
 * keep the highest version per key and never move back, facts insert once per event id, so the
 * result is what loading the manifests one after the other gives (an inferred member a later
 * manifest of the group would complete is simply not needed). Each manifest still gets its own
 * ledger row (its `rows`: the rows written that came from it, so the ledger still sums to the
 * fact tables) and its watermarks, in key order, in the same transaction.
 * All or nothing: any error rolls the whole group back and is thrown; the caller then loads the
 * group one manifest per transaction, so a bad manifest is recorded and retried alone and never
 * holds back the others. Exactly-once per manifest: a batch already in the ledger, or met earlier
 * in the group (a batch written twice under two keys), is skipped before anything is written.
 */
export interface ManifestToLoad {
  manifestKey: string;
  manifest: BatchManifest;
}

/** Bounds of one group: manifests, and rows held in memory at once (every file is fetched before the first load). */
export const GROUP_LIMITS = { maxManifests: 50, maxRows: 100_000 } as const;

/** Splits pending manifests (key order) into consecutive groups within `limits`; a manifest over maxRows, or with reconciles, forms a group alone. */
export function groupManifests<T extends ManifestToLoad>(pending: readonly T[], limits: { maxManifests: number; maxRows: number } = GROUP_LIMITS): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let rows = 0;
  for (const item of pending) {
    // A manifest with reconcile records loads alone (loadManifest applies them after its rows, looking at
    // the versions below their own): the group path does not apply reconciles.
    if ((item.manifest.reconciles?.length ?? 0) > 0) {
      if (current.length > 0) groups.push(current);
      groups.push([item]);
      current = [];
      rows = 0;
      continue;
    }
    const itemRows = item.manifest.files.reduce((n, f) => n + f.rows, 0);
    if (current.length > 0 && (current.length >= limits.maxManifests || rows + itemRows > limits.maxRows)) {
      groups.push(current);
      current = [];
      rows = 0;
    }
    current.push(item);
    rows += itemRows;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

export interface GroupLoadResult {
  loaded: ManifestToLoad[];
  skipped: ManifestToLoad[];
  /** Rows the merges and inserts wrote, per table (the group's, as for one manifest). */
  rows: Partial<Record<WarehouseTable, number>>;
  inferredMembers: number;
}

export async function loadManifestsTogether(args: {
  client: WarehouseClient;
  schema: string;
  store: ObjectStore;
  group: readonly ManifestToLoad[];
  logger: Logger;
  parquetLimits?: ParquetReadLimits;
}): Promise<GroupLoadResult> {
  const { client, schema, store, group, logger } = args;
  const startedMs = performance.now();
  const result: GroupLoadResult = { loaded: [], skipped: [], rows: {}, inferredMembers: 0 };
  await client.query('BEGIN');
  try {
    const { rows: known } = await client.query<{ batch_id: string }>(`SELECT batch_id FROM ${qualified(schema, LEDGER_TABLE)} WHERE batch_id = ANY($1::text[])`, [group.map((m) => m.manifest.batchId)]);
    const seen = new Set(known.map((r) => r.batch_id));
    for (const item of group) {
      if (seen.has(item.manifest.batchId)) result.skipped.push(item);
      else {
        seen.add(item.manifest.batchId);
        result.loaded.push(item);
      }
    }
    // Every file of the group at once; rows gathered per table in key order, tables in load order.
    const fetched = await Promise.all(
      result.loaded.map(({ manifestKey, manifest }) => Promise.all(loadOrder(manifest.files).map(async (file) => ({ file, rows: await readManifestFile(store, manifestKey, file, args.parquetLimits) })))),
    );
    const byTable = new Map<WarehouseTable, WarehouseRow[]>();
    // Which manifest a written row is counted to (its ledger `rows`, as one-by-one loading would
    // count it): a fact to the first manifest holding its event id, a dimension row to the
    // manifest holding the winning (highest) version of its key, a date to the first.
    const ownerOf = new Map<WarehouseTable, Map<string, { index: number; version: bigint }>>();
    for (const [index, files] of fetched.entries()) {
      for (const { file, rows } of files) {
        const spec = WAREHOUSE_MODEL[file.table];
        const all = byTable.get(file.table) ?? [];
        const owners = ownerOf.get(file.table) ?? new Map<string, { index: number; version: bigint }>();
        for (const row of rows) {
          all.push(row);
          const key = String(spec.kind === 'fact' ? row.event_id : row[(spec as DimensionSpec).key]);
          const version = spec.kind === 'dimension' && row.version_lsn !== undefined ? (BigInt(String(row.version_lsn)) << 32n) + BigInt(String(row.version_seq ?? 0)) : 0n;
          const owner = owners.get(key);
          if (!owner || version > owner.version) owners.set(key, { index, version });
        }
        byTable.set(file.table, all);
        ownerOf.set(file.table, owners);
      }
    }
    const written: Record<string, number>[] = result.loaded.map(() => ({}));
    const countWritten = (table: WarehouseTable, keys: unknown[]) => {
      for (const key of keys) {
        const owner = ownerOf.get(table)?.get(String(key));
        if (owner) written[owner.index][table] = (written[owner.index][table] ?? 0) + 1;
      }
    };
    const where = result.loaded[0]?.manifestKey ?? group[0].manifestKey;
    for (const table of WAREHOUSE_TABLES) {
      const rows = byTable.get(table);
      if (!rows) continue;
      const spec = WAREHOUSE_MODEL[table];
      await runForTable(where, table, async () => {
        await client.query(createStagingSql(spec));
        await copyRows(client, (format) => copyIntoStagingSql(spec, format), spec.columns, rows);
        // RETURNING the key of every row written attributes it to its manifest (above).
        const keyColumn = spec.kind === 'dimension' ? (spec as DimensionSpec).key : 'event_id';
        if (spec.kind === 'fact') {
          for (const { sql } of inferredMemberSql(schema, spec as FactSpec)) result.inferredMembers += (await client.query(sql)).rowCount ?? 0;
        }
        const statement = spec.kind === 'dimension' ? mergeDimensionSql(schema, spec as DimensionSpec) : insertFactSql(schema, spec as FactSpec);
        const { rows: keys } = await client.query<Record<string, unknown>>(`${statement} RETURNING ${ident(keyColumn)}::text AS k`);
        result.rows[table] = keys.length;
        countWritten(table, keys.map((r) => r.k));
      });
    }
    if (result.loaded.length > 0) {
      const recorded = await recordLoadedBatches(client, schema, result.loaded.map((item, index) => ({ ...item, rows: written[index] })), performance.now() - startedMs);
      if (recorded !== result.loaded.length) {
        const raced = result.loaded[0];
        throw new GroupLedgerRaceError(raced.manifestKey, raced.manifest.batchId);
      }
      for (const { manifestKey, manifest } of result.loaded) await recordWatermarks(client, schema, manifestKey, manifest.watermarks);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
  logger.debug('manifests loaded together', { manifests: group.length, loaded: result.loaded.length, rows: result.rows, durationMs: Math.round(performance.now() - startedMs) });
  return result;
}

/** A manifest's ledger row was written by someone else during the group's transaction: the group is rolled back and loaded one by one. */
export class GroupLedgerRaceError extends PipelineError {
  constructor(readonly manifestKey: string, readonly batchId: string) {
    super(`manifest ${manifestKey}: batch ${batchId} was recorded by another loader during this load`, { retryable: true, context: { manifestKey, batchId } });
  }
}
