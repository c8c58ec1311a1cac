import { WAREHOUSE_MODEL, type DimensionName, type DimensionSpec, type FactSpec, type TableSpec } from '../contracts/warehouse-model.js';
import { copyFromStdin, type CopyFormat } from './copy-rows.js';
import { dimensionVersionTuple, inferredMemberVersion as inferred, insertFactVersionsSql, newestDimensionVersionFirst } from './version-rules.js';
import { ident, qualified, sqlType } from './warehouse-ddl.js';

/**
 * The statements that move one file's rows from a temp staging table into the star schema. Pure:
 * each takes the schema and table spec and returns SQL; values only ever arrive through COPY.
 */
const stagingTable = (table: string) => `stage_${table}`;

export const columnList = (spec: TableSpec) => spec.columns.map((c) => ident(c.name)).join(', ');

/**
 * Temp table with the file's columns and no constraints, made once per session and emptied at
 * every commit (ON COMMIT DELETE ROWS; a rollback takes its rows with it). Made per transaction
 * (ON COMMIT DROP) it cost a CREATE of 6-9 ms, catalog rows written and dropped again at COMMIT,
 * for each dimension a load staged: 15-20 ms of a 70 ms transaction at 1,000 changes/s. IF NOT
 * EXISTS: a session whose table was made in a transaction that rolled back makes it again.
 * Only ever used inside a transaction (a statement of its own would commit, emptying it).
 */
export function createStagingSql(spec: TableSpec): string {
  const columns = spec.columns.map((c) => `${ident(c.name)} ${sqlType(c.type)}`).join(', ');
  return `CREATE TEMP TABLE IF NOT EXISTS ${ident(stagingTable(spec.name))} (${columns}) ON COMMIT DELETE ROWS`;
}

export function truncateStagingSql(spec: TableSpec): string {
  return `TRUNCATE ${ident(stagingTable(spec.name))}`;
}

export function copyIntoStagingSql(spec: TableSpec, format: CopyFormat): string {
  return `COPY ${ident(stagingTable(spec.name))} (${columnList(spec)}) ${copyFromStdin(format)}`;
}

/**
 * Dimension upsert guarded by version (rule D1, version-rules.ts): a row only replaces the stored
 * one when its version is strictly higher, so late or replayed rows never overwrite newer
 * ones and re-loading the same rows changes nothing. Within one file the highest version per key wins.
 * dim_date rows are a pure function of the date: insert once, never update.
 */
export function mergeDimensionSql(schema: string, spec: DimensionSpec): string {
  const key = ident(spec.key);
  const columns = columnList(spec);
  const target = qualified(schema, spec.name);
  const staged = ident(stagingTable(spec.name));
  if (spec.name === 'dim_date') {
    return `INSERT INTO ${target} (${columns}) SELECT DISTINCT ON (${key}) ${columns} FROM ${staged} ORDER BY ${key} ON CONFLICT (${key}) DO NOTHING`;
  }
  const updates = spec.columns
    .filter((c) => c.name !== spec.key)
    .map((c) => `${ident(c.name)} = excluded.${ident(c.name)}`)
    .concat('loaded_at = now()')
    .join(', ');
  // Rule D1 (version-rules.ts).
  return `INSERT INTO ${target} AS t (${columns})
SELECT DISTINCT ON (${key}) ${columns} FROM ${staged} ORDER BY ${key}, ${newestDimensionVersionFirst(spec)}
ON CONFLICT (${key}) DO UPDATE SET ${updates}
WHERE ${dimensionVersionTuple(spec, 'excluded')} > ${dimensionVersionTuple(spec, 't')}`;
}

/** COPY straight into the dimension (load-manifest.ts's fast path for keys the table does not hold, first-versions.ts). */
export function copyIntoDimensionSql(schema: string, spec: DimensionSpec, format: CopyFormat): string {
  return `COPY ${qualified(schema, spec.name)} (${columnList(spec)}) ${copyFromStdin(format)}`;
}

/** COPY straight into the fact table (load-manifest.ts's fast path for files without snapshot reads). */
export function copyIntoFactSql(schema: string, spec: FactSpec, format: CopyFormat): string {
  return `COPY ${qualified(schema, spec.name)} (${columnList(spec)}) ${copyFromStdin(format)}`;
}

/**
 * Facts are append-only versions under the version rules of version-rules.ts: the event id makes
 * re-loading a no-op (F1), and a snapshot read equal to the version before it adds nothing (F2).
 */
export function insertFactSql(schema: string, spec: FactSpec): string {
  return insertFactVersionsSql(schema, spec, ident(stagingTable(spec.name)));
}

/**
 * Inferred members: every dimension key the staged facts reference that does not exist yet gets a
 * key-only row with version (0, 0), so the foreign keys hold; the real row (any higher version)
 * completes it later. dim_date members are fully derivable, so the real row is generated (ISO
 * day of week, English names from the FM-prefixed to_char patterns, which ignore lc_time).
 * `facts` is the relation holding the fact rows: the fact table itself in a bulk load
 * (bulk-load-sql.ts; the per-manifest path uses inferredMembersForKeysSql).
 */
export function inferredMemberSql(schema: string, fact: FactSpec, facts: string): { dimension: DimensionName; sql: string }[] {
  const statements: { dimension: DimensionName; sql: string }[] = [];
  for (const [dimension, columns] of referencedDimensions(fact)) {
    const spec = WAREHOUSE_MODEL[dimension] as DimensionSpec;
    // Each key once, and only the missing ones: a conflict check per fact row (ON CONFLICT alone)
    // cost seconds per million rows. ON CONFLICT stays as the guard.
    const keys = columns.map((c) => `SELECT ${ident(c)} AS k FROM ${facts}`).join(' UNION ALL ');
    const missing = `SELECT DISTINCT k FROM (${keys}) keys WHERE k IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${qualified(schema, dimension)} d WHERE d.${ident(spec.key)} = keys.k)`;
    statements.push({ dimension, sql: insertInferredSql(schema, dimension, missing) });
  }
  return statements;
}

/** The fact's foreign-key columns grouped by the dimension they reference, in model order. */
export function referencedDimensions(fact: FactSpec): Map<DimensionName, string[]> {
  const byDimension = new Map<DimensionName, string[]>();
  for (const fk of fact.foreignKeys) byDimension.set(fk.references, [...(byDimension.get(fk.references) ?? []), fk.column]);
  return byDimension;
}

/**
 * The same inferred members as inferredMemberSql, for keys the caller has already collected from
 * the fact rows in memory (distinct, non-null): parameter $i is the array of keys of the i-th
 * dimension in `dimensions`. One statement for all of them (data-modifying CTEs); it returns the
 * number of members inserted as `inferred`. Used when the fact rows are COPYed straight into their
 * table (load-manifest.ts), where no staging table exists to read the keys from.
 *
 * holdKeys (set-based key checks, fact-key-checks.ts): the same statement also takes FOR KEY SHARE
 * on every referenced row that exists, and returns `held`: true when every key is either held or
 * inserted here. A key in neither was deleted, or inserted by another transaction, after this
 * statement's snapshot: the caller then lets the per-row checks decide.
 */
export function inferredMembersForKeysSql(schema: string, dimensions: readonly DimensionName[], how: { holdKeys?: boolean } = {}): string {
  const parts = dimensions.map((dimension, i) => {
    const spec = WAREHOUSE_MODEL[dimension] as DimensionSpec;
    const key = ident(spec.key);
    const keys = `$${i + 1}::${sqlType(spec.columns.find((c) => c.name === spec.key)!.type)}[]`;
    // The keys (distinct) less the ones the dimension has, found through its key index (`= ANY`).
    // Written as NOT EXISTS, the planner turned a few thousand keys into a hash anti join that read
    // and hashed the whole dimension on every call: in a first sync, 158k dim_transaction rows per
    // fact_payment file, most of the loader's database time after the COPYs (docs/performance-loader.md).
    const missing = `SELECT k FROM unnest(${keys}) k EXCEPT ALL SELECT d.${key} FROM ${qualified(schema, dimension)} d WHERE d.${key} = ANY(${keys})`;
    const inserted = `m${i} AS (${insertInferredSql(schema, dimension, missing)} RETURNING 1)`;
    if (!how.holdKeys) return { ctes: [inserted], held: '' };
    return {
      ctes: [inserted, `h${i} AS (SELECT 1 FROM ${qualified(schema, dimension)} d WHERE d.${key} = ANY(${keys}) FOR KEY SHARE)`],
      held: `(SELECT count(*) FROM m${i}) + (SELECT count(*) FROM h${i}) = cardinality(${keys})`,
    };
  });
  const inferred = dimensions.map((_, i) => `(SELECT count(*) FROM m${i})`).join(' + ');
  const held = how.holdKeys ? `, ${parts.map((p) => p.held).join(' AND ')} AS held` : '';
  return `WITH ${parts.flatMap((p) => p.ctes).join(',\n')}\nSELECT ${inferred} AS inferred${held}`;
}

/** Inserts the inferred member of every key `missing` (a query of one column `k`) yields. */
function insertInferredSql(schema: string, dimension: DimensionName, missing: string): string {
  const spec = WAREHOUSE_MODEL[dimension] as DimensionSpec;
  const target = qualified(schema, dimension);
  return dimension === 'dim_date'
    ? `INSERT INTO ${target} (date_id, year, month, day, day_of_week, day_name, month_name, quarter)
SELECT k, extract(year FROM k)::int, extract(month FROM k)::int, extract(day FROM k)::int, extract(isodow FROM k)::int,
  to_char(k, 'FMDay'), to_char(k, 'FMMonth'), extract(quarter FROM k)::int
FROM (${missing}) missing ORDER BY k ON CONFLICT (date_id) DO NOTHING`
    : `INSERT INTO ${target} (${[ident(spec.key), ...inferred(spec).columns, 'is_deleted'].join(', ')})
SELECT ${['k', ...inferred(spec).values, 'false'].join(', ')} FROM (${missing}) missing ORDER BY k ON CONFLICT (${ident(spec.key)}) DO NOTHING`;
}
