import { WAREHOUSE_TABLES } from '../contracts/warehouse-model.js';
import { ident } from './warehouse-ddl.js';
import type { WarehouseClient } from './warehouse-pool.js';

/**
 * The warehouse tables' keys, unique constraints, secondary indexes and every foreign key of a schema,
 * captured as their catalog definitions, dropped for a bulk load and built back once at its end:
 * building an index over a loaded table, and checking a foreign key with one join, costs a fraction
 * of maintaining and checking them row by row. Only for a schema nobody reads yet (replay --rebuild).
 */
export interface DeferredConstraint {
  table: string;
  name: string;
  kind: 'primary key' | 'unique' | 'index' | 'foreign key';
  /** `ADD CONSTRAINT` body (constraints) or the whole `CREATE INDEX` statement (indexes), from the catalog. */
  definition: string;
  /** The constrained columns of a foreign key (empty for the other kinds). */
  columns: string[];
}

/** One statement that builds a deferred item back. */
export interface RestoreStatement {
  item: DeferredConstraint;
  sql: string;
}

/** Restore order: keys and uniques (the foreign keys need the referenced keys), indexes, foreign keys. */
const RANK: Record<DeferredConstraint['kind'], number> = { 'primary key': 0, unique: 1, index: 2, 'foreign key': 3 };
const KIND = { p: 'primary key', u: 'unique', f: 'foreign key' } as const;

export async function dropDeferredConstraints(client: Pick<WarehouseClient, 'query'>, schema: string): Promise<DeferredConstraint[]> {
  const constraints = await client.query<{ table: string; name: string; type: 'p' | 'u' | 'f'; definition: string; columns: string[] }>(
    `SELECT c.relname AS "table", k.conname AS name, k.contype AS type, pg_get_constraintdef(k.oid) AS definition,
       CASE WHEN k.contype = 'f' THEN ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, n)
         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.n) ELSE '{}'::text[] END AS columns
     FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND (k.contype = 'f' OR (k.contype IN ('p', 'u') AND c.relname = ANY($2::text[])))`,
    [schema, WAREHOUSE_TABLES],
  );
  const indexes = await client.query<{ table: string; name: string; definition: string }>(
    `SELECT c.relname AS "table", ic.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
     FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`,
    [schema, WAREHOUSE_TABLES],
  );
  const deferred: DeferredConstraint[] = [
    ...constraints.rows.map((r) => ({ table: r.table, name: r.name, kind: KIND[r.type], definition: r.definition, columns: r.columns })),
    ...indexes.rows.map((r) => ({ table: r.table, name: r.name, kind: 'index' as const, definition: r.definition, columns: [] })),
  ].sort((a, b) => RANK[a.kind] - RANK[b.kind] || a.table.localeCompare(b.table) || a.name.localeCompare(b.name));
  // Foreign keys first: a primary key cannot be dropped while a foreign key references it.
  for (const item of [...deferred].reverse()) {
    await client.query(
      item.kind === 'index' ? `DROP INDEX ${ident(schema)}.${ident(item.name)}` : `ALTER TABLE ${ident(schema)}.${ident(item.table)} DROP CONSTRAINT ${ident(item.name)}`,
    );
  }
  return deferred;
}

/**
 * The statements that build everything back, grouped per table in restore order (its keys, then
 * its indexes, then its foreign keys, each validated over the whole table). Groups touch different
 * tables, so they can run on separate connections, as long as a dimension's key is back before any
 * foreign key that references it; foreign keys of different groups that reference the same
 * dimension wait for each other briefly (run each statement in its own transaction). The
 * definitions come from the catalog: no value is interpolated.
 */
export function restoreStatementsByTable(schema: string, deferred: readonly DeferredConstraint[]): Map<string, RestoreStatement[]> {
  const byTable = new Map<string, RestoreStatement[]>();
  for (const item of deferred) {
    const sql = item.kind === 'index' ? item.definition : `ALTER TABLE ${ident(schema)}.${ident(item.table)} ADD CONSTRAINT ${ident(item.name)} ${item.definition}`;
    byTable.set(item.table, [...(byTable.get(item.table) ?? []), { item, sql }]);
  }
  return byTable;
}
