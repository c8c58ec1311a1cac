import pg from 'pg';
import type { ObjectStore } from '../bucket/object-store.js';
import type { Logger } from '../platform/logger.js';
import type { BatchManifest, ManifestFile } from '../contracts/manifest.js';
import { PipelineError } from '../platform/errors.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import { DIMENSIONS, FACTS, WAREHOUSE_MODEL, type DimensionSpec, type FactName, type FactSpec, type WarehouseTable } from '../contracts/warehouse-model.js';
import { bulkCopySql, bulkDimensionSpecs, createBulkDimensionSql, dropBulkDimensionSql, finishBulkDimensionSql, finishInferredMembersSql, finishSnapshotReadsSql } from './bulk-load-sql.js';
import { copyRows } from './copy-rows.js';
import { dropDeferredConstraints, restoreStatementsByTable, type DeferredConstraint, type RestoreStatement } from './deferred-constraints.js';
import { recordLoadedBatch } from './load-ledger.js';
import { loadOrder, runForTable } from './load-manifest.js';
import { readManifestFile } from './manifest-reader.js';
import { LEDGER_TABLE, qualified } from './warehouse-ddl.js';
import { runStatementGroups, type GroupClient, type GroupStatement } from './statement-groups.js';
import { inTransaction } from '../platform/in-transaction.js';
import { migrateWarehouseSchema } from './warehouse-schema.js';
import { createPostgresClient } from '../platform/postgres-client.js';
import { RECONCILED_TABLE, type ReconcileRecord } from '../contracts/reconcile.js';
import { applyReconcilesInOrder } from './apply-reconciles.js';

/**
 * The loader's bulk mode, for a NEW schema that nobody reads until it is complete (replay
 * --rebuild builds one and swaps it in). The incremental loader (load-manifest.ts) pays per
 * manifest for staging tables, version-guarded upserts, inferred-member queries and row-by-row
 * index and foreign-key maintenance; a bulk load defers all of that to one `finish`:
 *
 *  open    migrate the schema; drop the tables' keys, indexes and foreign keys
 *          (deferred-constraints.ts); create an unlogged collection table per dimension;
 *  load    per manifest, in one transaction: take each file's rows (from the caller that has just
 *          encoded them, or verified and decoded from the bucket as the incremental loader does),
 *          COPY fact rows straight into their table and dimension rows (every version) into the
 *          collection table, record the ledger row;
 *  finish  the highest version of every dimension key (first loaded among equals, as the upsert
 *          keeps), then the keys, indexes and foreign keys built and validated once (a foreign key
 *          that does not hold first gets inferred members for the keys only facts name);
 *          the replay's reconcile records applied per table in version order, once the table's
 *          rows and keys are there (loader/apply-reconciles.ts applyReconcilesInOrder); snapshot
 *          reads equal to the version before them deleted (version rule F2, version-rules.ts: the
 *          incremental loader never inserts them; after the reconciles, since a reconcile's delete
 *          version can be the version before a read); collection tables dropped; ANALYZE.
 *
 * Several loaders may fill one schema at once (replay's processing lanes, replay/process/lane-pool.ts): one
 * `open`s it and later runs `finish`, each lane `attach`es its own connection and loads its
 * manifests; the opener `absorb`s each lane's counts before `finish`. The result does not depend on
 * how loads interleave as long as every row of one dimension key comes from one loader, in order
 * ("first loaded among equals" is then that loader's first; dim_date rows of one date are equal).
 *
 * Same manifests in the same order ⇒ the same warehouse as the incremental loader (tested table
 * by table). Not idempotent per manifest (no event-id check before `finish` builds the unique
 * index): a failed bulk load is abandoned with its schema, never resumed; `finish` fails on a
 * duplicate event id rather than hiding one.
 */
/** `all` resolves after `n` done() calls, or rejects with the first fail() (nobody need listen). */
function countdown(n: number): { all: Promise<void>; done(): void; fail(error: unknown): void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const all = new Promise<void>((yes, no) => ((resolve = yes), (reject = no)));
  all.catch(() => {});
  let left = n;
  if (left === 0) resolve();
  return { all, done: () => void (--left === 0 && resolve()), fail: reject };
}

/** SQLSTATE of a foreign key that existing rows violate. */
const FOREIGN_KEY_VIOLATION = '23503';

export class BulkLoadError extends PipelineError {
  constructor(message: string) {
    super(message, { retryable: false });
  }
}

export interface BulkLoadSummary {
  manifests: number;
  rowsCopied: number;
  dimensionRows: number;
  inferredMembers: number;
  /** Reconciles applied (replay's), and the delete versions they made. */
  reconciles: number;
  reconcileRowsDeleted: number;
  finishMs: number;
}

export class BulkLoad {
  private manifests = 0;
  private rowsCopied = 0;
  /** Rows copied per table: `finish` starts with the largest. */
  private readonly copied: Partial<Record<WarehouseTable, number>> = {};

  private constructor(
    private readonly client: pg.Client,
    private readonly warehouseUrl: string,
    private readonly schema: string,
    private readonly processed: ObjectStore,
    /** Null for an attached loader (it cannot finish). */
    private readonly deferred: readonly DeferredConstraint[] | null,
    private readonly logger: Logger,
  ) {}

  /** Creates `schema` (which must not hold data yet) ready for bulk loading. */
  static async open(options: { warehouseUrl: string; schema: string; processed: ObjectStore; logger: Logger }): Promise<BulkLoad> {
    return BulkLoad.connect(options, true);
  }

  /**
   * A second loader for a schema another BulkLoad has `open`ed: it only loads (no `finish`, which
   * the opener runs once every attached loader is done and absorbed).
   */
  static async attach(options: { warehouseUrl: string; schema: string; processed: ObjectStore; logger: Logger }): Promise<BulkLoad> {
    return BulkLoad.connect(options, false);
  }

  private static async connect(options: { warehouseUrl: string; schema: string; processed: ObjectStore; logger: Logger }, prepare: boolean): Promise<BulkLoad> {
    const client = createPostgresClient({ url: options.warehouseUrl, applicationName: 'totesys-cdc-bulk-load' });
    await client.connect();
    if (!prepare) return new BulkLoad(client, options.warehouseUrl, options.schema, options.processed, null, options.logger.child({ component: 'bulk-load', schema: options.schema }));
    try {
      await migrateWarehouseSchema(client, options.schema, options.logger);
      const deferred = await inTransaction(client, async () => {
        const { rowCount } = await client.query(`SELECT 1 FROM ${qualified(options.schema, LEDGER_TABLE)} LIMIT 1`);
        if (rowCount) throw new BulkLoadError(`bulk load needs a new schema: ${options.schema} already has loaded batches`);
        const dropped = await dropDeferredConstraints(client, options.schema);
        for (const spec of bulkDimensionSpecs()) await client.query(createBulkDimensionSql(options.schema, spec));
        return dropped;
      });
      return new BulkLoad(client, options.warehouseUrl, options.schema, options.processed, deferred, options.logger.child({ component: 'bulk-load', schema: options.schema }));
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
  }

  /**
   * Loads one manifest's files in one transaction; resolves to the rows copied per table.
   * `rowsOf` may supply a file's rows (the processor in the same process still has the rows it has
   * just encoded); otherwise, or when the count differs from the manifest, the file is read and
   * verified like the incremental loader does.
   */
  async load(manifestKey: string, manifest: BatchManifest, rowsOf?: (file: ManifestFile) => readonly WarehouseRow[] | undefined): Promise<Partial<Record<WarehouseTable, number>>> {
    const started = performance.now();
    const rows: Partial<Record<WarehouseTable, number>> = {};
    await inTransaction(this.client, async () => {
      for (const file of loadOrder(manifest.files)) {
        const spec = WAREHOUSE_MODEL[file.table];
        const given = rowsOf?.(file);
        const fileRows = given && given.length === file.rows ? given : await readManifestFile(this.processed, manifestKey, file);
        await runForTable(manifestKey, file.table, async () => {
          await copyRows(this.client, (format) => bulkCopySql(this.schema, spec, format), spec.columns, fileRows);
        });
        rows[file.table] = (rows[file.table] ?? 0) + fileRows.length;
        this.copied[file.table] = (this.copied[file.table] ?? 0) + fileRows.length;
        this.rowsCopied += fileRows.length;
      }
      if (!(await recordLoadedBatch(this.client, this.schema, manifestKey, manifest, rows as Record<string, number>, performance.now() - started))) {
        throw new BulkLoadError(`bulk load: batch ${manifest.batchId} (${manifestKey}) was already loaded into ${this.schema}`);
      }
    });
    this.manifests++;
    return rows;
  }

  /**
   * Completes the schema (see the class comment); afterwards it is an ordinary warehouse schema.
   * The steps run on two connections, largest tables first (Postgres uses both cores while this
   * process has nothing else to do); each statement commits on its own, since a schema that fails
   * to finish is dropped anyway.
   */
  async finish(options: { reconciles?: readonly ReconcileRecord[] } = {}): Promise<BulkLoadSummary> {
    if (!this.deferred) throw new BulkLoadError(`bulk load: an attached loader cannot finish ${this.schema} (its opener does)`);
    const deferred = this.deferred;
    const started = performance.now();
    const second = createPostgresClient({ url: this.warehouseUrl, applicationName: 'totesys-cdc-bulk-load' });
    await second.connect();
    try {
      const clients = [this.client, second];
      for (const client of clients) {
        // Merges, key lists and index builds sort and hash in memory (these sessions only).
        await client.query(`SET work_mem = '64MB'`);
        await client.query(`SET maintenance_work_mem = '256MB'`);
      }
      const bySize = <T extends WarehouseTable>(tables: readonly T[]) => [...tables].sort((a, b) => (this.copied[b] ?? 0) - (this.copied[a] ?? 0));
      const dimensions = bySize(DIMENSIONS);
      // One queue for both connections, dimension merges first: a fact table's keys and indexes
      // need no dimension and are built while the largest merges run; its foreign keys wait for
      // every merge (all of them have started by then, as they were queued first).
      // Reconciles per warehouse table, in the version order given; a source table no warehouse
      // table is keyed by (department) only gets its reconcile_applied row, at the end.
      const reconcilesOf = new Map<WarehouseTable | null, ReconcileRecord[]>();
      for (const record of options.reconciles ?? []) {
        const table = RECONCILED_TABLE[record.table]?.table ?? null;
        let list = reconcilesOf.get(table);
        if (!list) reconcilesOf.set(table, (list = []));
        list.push(record);
      }
      const reconciled = { applied: 0, rowsDeleted: 0 };
      const reconcile = async (client: GroupClient, table: WarehouseTable | null): Promise<number> => {
        const outcome = await applyReconcilesInOrder(client, this.schema, reconcilesOf.get(table) ?? [], this.logger);
        reconciled.applied += outcome.applied;
        reconciled.rowsDeleted += outcome.rowsDeleted;
        return outcome.rowsDeleted;
      };
      const merged = countdown(dimensions.length);
      let dimensionRows = 0;
      const restore = restoreStatementsByTable(this.schema, deferred);
      const mergeGroups = dimensions.map((d): GroupStatement[] => [
        async (client) => {
          try {
            // Into the table without its key, which is then built over the merged rows at once.
            const { rowCount } = await client.query(finishBulkDimensionSql(this.schema, WAREHOUSE_MODEL[d] as DimensionSpec));
            dimensionRows += rowCount ?? 0;
            await client.query(dropBulkDimensionSql(this.schema, d));
            for (const { sql } of restore.get(d) ?? []) await client.query(sql);
            await reconcile(client, d);
          } catch (error) {
            merged.fail(error);
            throw error;
          }
          merged.done();
          return 0;
        },
      ]);
      const inferred = { members: 0 };
      // Fresh statistics, so the first queries after the swap get good plans.
      const analyze = (table: WarehouseTable) => `ANALYZE ${qualified(this.schema, table)}`;
      // Version rule F2 (version-rules.ts) once the fact's indexes are back: unchanged snapshot reads go.
      const snapshotReads = (f: FactName) => finishSnapshotReadsSql(this.schema, WAREHOUSE_MODEL[f] as FactSpec);
      const factGroups = bySize(FACTS).map((f): GroupStatement[] => [
        ...(restore.get(f) ?? []).map((statement) => this.restoreStep(statement, inferred, merged.all)),
        (client) => reconcile(client, f),
        snapshotReads(f),
        analyze(f),
      ]);
      await runStatementGroups(clients, [...mergeGroups, ...factGroups]);
      await reconcile(this.client, null);
      const inferredMembers = inferred.members;
      // Inferred members may have been added to any dimension until now.
      await runStatementGroups(clients, dimensions.map((d) => [analyze(d)]));
      const summary: BulkLoadSummary = { manifests: this.manifests, rowsCopied: this.rowsCopied, dimensionRows, inferredMembers, reconciles: reconciled.applied, reconcileRowsDeleted: reconciled.rowsDeleted, finishMs: performance.now() - started };
      this.logger.info('bulk load finished', { ...summary });
      return summary;
    } finally {
      await second.end().catch(() => {});
    }
  }

  /**
   * The statement that builds one deferred item back. A foreign key is added first and its missing
   * keys looked for only when that fails: the check that validates a foreign key is the same join
   * that finds inferred members, and a rebuild rarely has any, so this skips one scan of the fact
   * table per foreign key. On a violation, the inferred members of that column are inserted (as
   * the incremental loader would have, load-sql.ts) and the key is added again.
   */
  private restoreStep(statement: RestoreStatement, inferred: { members: number }, dimensionsMerged: Promise<void>): GroupStatement {
    const { item, sql } = statement;
    if (item.kind !== 'foreign key') return sql;
    return async (client) => {
      await dimensionsMerged;
      try {
        await client.query(sql);
        return 0;
      } catch (error) {
        if ((error as { code?: string }).code !== FOREIGN_KEY_VIOLATION) throw error;
      }
      const fact = WAREHOUSE_MODEL[item.table as WarehouseTable] as FactSpec;
      const foreignKeys = fact.foreignKeys.filter((fk) => item.columns.includes(fk.column));
      for (const { sql: insert } of finishInferredMembersSql(this.schema, { ...fact, foreignKeys })) {
        const { rowCount } = await client.query(insert);
        inferred.members += rowCount ?? 0;
      }
      await client.query(sql);
      return 0;
    };
  }

  /** What this loader has loaded (an attached loader's, for its opener to absorb). */
  get loaded(): { manifests: number; rowsCopied: number; copied: Partial<Record<WarehouseTable, number>> } {
    return { manifests: this.manifests, rowsCopied: this.rowsCopied, copied: { ...this.copied } };
  }

  /** Counts loads an attached loader made into this schema (`finish` orders its work by table size). */
  absorb(loaded: { manifests: number; rowsCopied: number; copied: Partial<Record<WarehouseTable, number>> }): void {
    this.manifests += loaded.manifests;
    this.rowsCopied += loaded.rowsCopied;
    for (const [table, rows] of Object.entries(loaded.copied) as [WarehouseTable, number][]) this.copied[table] = (this.copied[table] ?? 0) + rows;
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
