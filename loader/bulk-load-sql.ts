import { DIMENSIONS, WAREHOUSE_MODEL, type DimensionName, type DimensionSpec, type FactSpec, type TableSpec } from '../contracts/warehouse-model.js';
import { copyFromStdin, type CopyFormat } from './copy-rows.js';
import { columnList, inferredMemberSql } from './load-sql.js';
import { dropUnchangedSnapshotReadsSql, newestDimensionVersionFirst } from './version-rules.js';
import { ident, qualified, sqlType } from './warehouse-ddl.js';

/**
 * SQL of a bulk load into a NEW, private schema (replay --rebuild): facts are copied straight into
 * their tables, without the indexes and foreign keys, and every version of every dimension row
 * into an unlogged collection table; `finish` then keeps the highest version per key, adds the
 * inferred members and builds the indexes and keys once. The result equals what loading the same
 * manifests one by one with the incremental loader (load-sql.ts) gives. Pure: returns SQL only.
 */

/** The unlogged table collecting every version of one dimension's rows during a bulk load. */
const bulkDimensionTable = (dimension: string) => `bulk_${dimension}`;

/** `load_seq` numbers rows in load order: among equal versions the FIRST loaded wins, as in mergeDimensionSql. */
export function createBulkDimensionSql(schema: string, spec: DimensionSpec): string {
  const columns = spec.columns.map((c) => `${ident(c.name)} ${sqlType(c.type)}`).join(', ');
  return `CREATE UNLOGGED TABLE ${qualified(schema, bulkDimensionTable(spec.name))} (${columns}, load_seq bigint GENERATED ALWAYS AS IDENTITY)`;
}

/** COPY target of one file's rows: the fact table itself, or the dimension's collection table. */
export function bulkCopySql(schema: string, spec: TableSpec, format: CopyFormat): string {
  const target = spec.kind === 'fact' ? spec.name : bulkDimensionTable(spec.name);
  return `COPY ${qualified(schema, target)} (${columnList(spec)}) ${copyFromStdin(format)}`;
}

/** The highest version of each key (first loaded among equals); dim_date rows are a function of the date. */
export function finishBulkDimensionSql(schema: string, spec: DimensionSpec): string {
  const key = ident(spec.key);
  const columns = columnList(spec);
  const order = spec.name === 'dim_date' ? `${key}, load_seq` : `${key}, ${newestDimensionVersionFirst(spec)}, load_seq`; // rule D1
  return `INSERT INTO ${qualified(schema, spec.name)} (${columns})
SELECT DISTINCT ON (${key}) ${columns} FROM ${qualified(schema, bulkDimensionTable(spec.name))} ORDER BY ${order}`;
}

/** Inferred members for every key the loaded facts reference and no dimension row has. */
export function finishInferredMembersSql(schema: string, fact: FactSpec): { dimension: DimensionName; sql: string }[] {
  return inferredMemberSql(schema, fact, qualified(schema, fact.name));
}

/** Version rule F2 (version-rules.ts) over a bulk-loaded fact table: unchanged snapshot reads go. */
export function finishSnapshotReadsSql(schema: string, fact: FactSpec): string {
  return dropUnchangedSnapshotReadsSql(schema, fact);
}

export function dropBulkDimensionSql(schema: string, dimension: DimensionName): string {
  return `DROP TABLE IF EXISTS ${qualified(schema, bulkDimensionTable(dimension))}`;
}

export const bulkDimensionSpecs = (): DimensionSpec[] => DIMENSIONS.map((d) => WAREHOUSE_MODEL[d] as DimensionSpec);
