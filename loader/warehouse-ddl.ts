import pg from 'pg';
import {
  DIMENSIONS,
  FACTS,
  WAREHOUSE_MODEL,
  type ColumnType,
  type DimensionSpec,
  type FactSpec,
  type TableSpec,
} from '../contracts/warehouse-model.js';

/**
 * SQL generated from WAREHOUSE_MODEL, the single description of the star schema: the Parquet
 * columns and the warehouse columns can never drift apart. Pure functions (no I/O); every
 * identifier is quoted, the schema name is a parameter so replay can build into another schema.
 */
export const DEFAULT_WAREHOUSE_SCHEMA = 'star';

const SQL_TYPE: Record<ColumnType, string> = {
  int: 'integer',
  bigint: 'bigint',
  text: 'text',
  date: 'date',
  time: 'time(3)',
  money: 'numeric(10,2)',
  boolean: 'boolean',
  timestamptz: 'timestamptz(3)',
};

export const ident = (name: string): string => pg.escapeIdentifier(name);
export const qualified = (schema: string, name: string): string => `${ident(schema)}.${ident(name)}`;
export const sqlType = (type: ColumnType): string => SQL_TYPE[type];

/** Loader bookkeeping tables and views, beside the 11 model tables. */
/** Lock namespace of the loader (advisory locks); the key is hashtext(schema), so a replay into another schema is not blocked. */
export const LOADER_LOCK_CLASS = 0x70ad;

export const LEDGER_TABLE = 'load_ledger';
export const FAILURES_TABLE = 'load_failures';
export const SCHEMA_VERSION_TABLE = 'schema_version';
export const WATERMARKS_TABLE = 'load_watermarks';
const currentView = (fact: string) => `${fact}_current`;
const historyView = (fact: string) => `${fact}_history`;

const FACT_OPS = ['c', 'u', 'd', 'r'] as const;

function columnDefinitions(spec: TableSpec): string[] {
  return spec.columns.map((c) => `${ident(c.name)} ${sqlType(c.type)}${c.nullable ? '' : ' NOT NULL'}`);
}

function dimensionTableSql(schema: string, spec: DimensionSpec): string {
  const lines = [...columnDefinitions(spec), `loaded_at timestamptz NOT NULL DEFAULT now()`, `PRIMARY KEY (${ident(spec.key)})`];
  return `CREATE TABLE IF NOT EXISTS ${qualified(schema, spec.name)} (\n  ${lines.join(',\n  ')}\n)`;
}

function factTableSql(schema: string, spec: FactSpec): string {
  const lines = [
    `${ident(spec.recordId)} serial PRIMARY KEY`,
    ...columnDefinitions(spec),
    `loaded_at timestamptz NOT NULL DEFAULT now()`,
    `UNIQUE (event_id)`,
    `CHECK (op IN (${FACT_OPS.map((op) => `'${op}'`).join(', ')}))`,
    ...spec.foreignKeys.map(
      (fk) => `FOREIGN KEY (${ident(fk.column)}) REFERENCES ${qualified(schema, fk.references)} (${ident((WAREHOUSE_MODEL[fk.references] as DimensionSpec).key)})`,
    ),
  ];
  return `CREATE TABLE IF NOT EXISTS ${qualified(schema, spec.name)} (\n  ${lines.join(',\n  ')}\n)`;
}

/** Index so `<fact>_current` / `_history` read one source id's versions in order without sorting the table. */
function factVersionIndexSql(schema: string, spec: FactSpec): string {
  return `CREATE INDEX IF NOT EXISTS ${ident(`${spec.name}_versions_idx`)} ON ${qualified(schema, spec.name)} (${ident(spec.sourceId)}, source_lsn DESC, source_seq DESC)`;
}

/** Latest version per source id (by source LSN, then position in the transaction), deletes dropped. */
function currentViewSql(schema: string, spec: FactSpec): string {
  const id = ident(spec.sourceId);
  return `CREATE OR REPLACE VIEW ${qualified(schema, currentView(spec.name))} AS
SELECT * FROM (
  SELECT DISTINCT ON (${id}) * FROM ${qualified(schema, spec.name)}
  ORDER BY ${id}, source_lsn DESC, source_seq DESC
) latest
WHERE op <> 'd'`;
}

/**
 * Every version, in order, with its validity interval: a version is valid from its commit time
 * until the next version's commit time (NULL = still valid, unless it is a delete).
 */
function historyViewSql(schema: string, spec: FactSpec): string {
  const id = ident(spec.sourceId);
  const window = `(PARTITION BY ${id} ORDER BY source_lsn, source_seq)`;
  return `CREATE OR REPLACE VIEW ${qualified(schema, historyView(spec.name))} AS
SELECT f.*,
  row_number() OVER ${window} AS version,
  commit_ts AS valid_from,
  lead(commit_ts) OVER ${window} AS valid_to,
  lead(commit_ts) OVER ${window} IS NULL AND op <> 'd' AS is_current
FROM ${qualified(schema, spec.name)} f
ORDER BY ${id}, source_lsn, source_seq`;
}

function ledgerTablesSql(schema: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, LEDGER_TABLE)} (
  batch_id text PRIMARY KEY,
  manifest_key text NOT NULL,
  manifest_created_at timestamptz(3) NOT NULL,
  loaded_at timestamptz NOT NULL DEFAULT now(),
  rows jsonb NOT NULL,
  event_count integer NOT NULL,
  first_event_id text NOT NULL,
  last_event_id text NOT NULL,
  min_commit_ts timestamptz(3) NOT NULL,
  max_commit_ts timestamptz(3) NOT NULL,
  duration_ms integer NOT NULL
)`,
    `CREATE INDEX IF NOT EXISTS load_ledger_manifest_key_idx ON ${qualified(schema, LEDGER_TABLE)} (manifest_key)`,
    `CREATE INDEX IF NOT EXISTS load_ledger_created_idx ON ${qualified(schema, LEDGER_TABLE)} (manifest_created_at)`,
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, FAILURES_TABLE)} (
  manifest_key text PRIMARY KEY,
  batch_id text,
  error text NOT NULL,
  attempts integer NOT NULL,
  first_failed_at timestamptz NOT NULL DEFAULT now(),
  last_failed_at timestamptz NOT NULL DEFAULT now(),
  next_attempt_at timestamptz,
  parked boolean NOT NULL DEFAULT false
)`,
  ];
}

/** The whole star schema, in dependency order (dimensions before the facts that reference them). */
export function starSchemaSql(schema: string): string[] {
  const statements: string[] = [];
  for (const name of DIMENSIONS) statements.push(dimensionTableSql(schema, WAREHOUSE_MODEL[name] as DimensionSpec));
  for (const name of FACTS) {
    const spec = WAREHOUSE_MODEL[name] as FactSpec;
    statements.push(factTableSql(schema, spec), factVersionIndexSql(schema, spec), currentViewSql(schema, spec), historyViewSql(schema, spec));
  }
  statements.push(...ledgerTablesSql(schema));
  return statements;
}

/**
 * Migration 2: event ids and manifest keys compare byte by byte (COLLATE "C"). They are opaque ids
 * and S3 keys: a linguistic collation (the database default, e.g. en_US.UTF-8) sorts manifest keys
 * differently from the bucket listing the loader resumes in, and makes every index on them slower
 * to build and search (a rebuild's unique index on event_id took twice as long under C.UTF-8). The
 * fact views select every column, so they are dropped and made again around the change.
 */
export function byteOrderKeysSql(schema: string): string[] {
  const C = `text COLLATE "C"`;
  const statements: string[] = [];
  for (const name of FACTS) {
    const spec = WAREHOUSE_MODEL[name] as FactSpec;
    statements.push(
      `DROP VIEW IF EXISTS ${qualified(schema, currentView(name))}`,
      `DROP VIEW IF EXISTS ${qualified(schema, historyView(name))}`,
      `ALTER TABLE ${qualified(schema, name)} ALTER COLUMN event_id TYPE ${C}`,
      currentViewSql(schema, spec),
      historyViewSql(schema, spec),
    );
  }
  statements.push(
    `ALTER TABLE ${qualified(schema, LEDGER_TABLE)} ALTER COLUMN batch_id TYPE ${C}, ALTER COLUMN manifest_key TYPE ${C}, ALTER COLUMN first_event_id TYPE ${C}, ALTER COLUMN last_event_id TYPE ${C}`,
    `ALTER TABLE ${qualified(schema, FAILURES_TABLE)} ALTER COLUMN manifest_key TYPE ${C}, ALTER COLUMN batch_id TYPE ${C}`,
  );
  return statements;
}

/**
 * Migration 3: per-shard watermarks (contracts/watermark.ts), written in the same transaction as the
 * manifest that carried them. A watermark-only manifest (an idle shard) holds no commit, so the
 * ledger's commit times become nullable (max(max_commit_ts) stays "the newest commit loaded").
 */
export function watermarksSql(schema: string): string[] {
  return [
    `ALTER TABLE ${qualified(schema, LEDGER_TABLE)} ALTER COLUMN min_commit_ts DROP NOT NULL, ALTER COLUMN max_commit_ts DROP NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, WATERMARKS_TABLE)} (
  shard_id text COLLATE "C" PRIMARY KEY,
  watermark_ts timestamptz(3) NOT NULL,
  watermark_lsn text NOT NULL,
  open_shards text[] NOT NULL,
  manifest_key text COLLATE "C" NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
)`,
  ];
}

/**
 * Migration 4: joined dimensions (dim_staff, dim_counterparty) are versioned by their own source row,
 * then by the joined row (joined_version_lsn, joined_version_seq; loader/version-rules.ts rule D1).
 * Rows stored under the former version (the highest of both sides) are set to the lowest version,
 * (0, 0, 0, 0): their content stays, and the next row built for the key replaces it, whichever
 * side's version it carries. A fresh schema gets the columns from migration 1 (the model) and has
 * no rows to reset.
 */
export function joinedDimensionVersionsSql(schema: string): string[] {
  return (['dim_staff', 'dim_counterparty'] as const).flatMap((dimension) => {
    const table = qualified(schema, dimension);
    return [
      `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS joined_version_lsn bigint NOT NULL DEFAULT 0, ADD COLUMN IF NOT EXISTS joined_version_seq integer NOT NULL DEFAULT 0`,
      `ALTER TABLE ${table} ALTER COLUMN joined_version_lsn DROP DEFAULT, ALTER COLUMN joined_version_seq DROP DEFAULT`,
      `UPDATE ${table} SET version_lsn = 0, version_seq = 0, joined_version_lsn = 0, joined_version_seq = 0`,
    ];
  });
}
