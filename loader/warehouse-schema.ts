import type { Logger } from '../platform/logger.js';
import { joinedDimensionVersionsSql, watermarksSql, byteOrderKeysSql, DEFAULT_WAREHOUSE_SCHEMA, ident, qualified, SCHEMA_VERSION_TABLE, starSchemaSql } from './warehouse-ddl.js';
import { reconcileTablesSql } from './reconcile-sql.js';
import { inTransaction } from '../platform/in-transaction.js';
import { openWarehousePool, type WarehouseClient, type WarehouseTarget } from './warehouse-pool.js';

/**
 * Warehouse migrations: an ordered list, each applied once per schema and recorded in
 * `<schema>.schema_version`. Migrations run in one transaction under a transaction-level advisory
 * lock on the schema name, so two processes starting together never apply the same one twice.
 * New migrations are appended with the next version number; applied ones are never edited.
 */
export interface Migration {
  version: number;
  description: string;
  statements(schema: string): string[];
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: 'star schema from WAREHOUSE_MODEL, load ledger, load failures, fact views', statements: starSchemaSql },
  { version: 2, description: 'event ids and manifest keys in byte order (COLLATE "C")', statements: byteOrderKeysSql },
  { version: 3, description: 'per-shard watermarks (load_watermarks); nullable ledger commit times for watermark-only manifests', statements: watermarksSql },
  { version: 4, description: 'joined dimensions versioned by their own row, then the joined row (joined_version_lsn/seq); stored rows reset to the lowest version', statements: joinedDimensionVersionsSql },
  { version: 5, description: 'reconcile copies per shard and reconciles applied (contracts/reconcile.ts)', statements: reconcileTablesSql },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

const MIGRATION_LOCK_CLASS = 0x7707; // advisory lock namespace for migrations (the key is the schema)

export interface MigrateResult {
  schema: string;
  applied: number[];
  version: number;
}

export async function migrateWarehouseSchema(client: Pick<WarehouseClient, 'query'>, schema = DEFAULT_WAREHOUSE_SCHEMA, logger?: Logger): Promise<MigrateResult> {
  return inTransaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
    const versionTable = qualified(schema, SCHEMA_VERSION_TABLE);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${versionTable} (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${versionTable}`);
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.statements(schema)) await client.query(statement);
      await client.query(`INSERT INTO ${versionTable} (version, description) VALUES ($1, $2)`, [migration.version, migration.description]);
      applied.push(migration.version);
      logger?.info('warehouse migration applied', { schema, version: migration.version, description: migration.description });
    }
    return { schema, applied, version: LATEST_SCHEMA_VERSION };
  });
}

/** Convenience for the CLI: connect, migrate, disconnect. */
export async function ensureWarehouseSchema(target: WarehouseTarget & { schema?: string; logger?: Logger }): Promise<MigrateResult> {
  const { pool, close } = openWarehousePool(target);
  try {
    const client = await pool.connect();
    try {
      return await migrateWarehouseSchema(client, target.schema ?? DEFAULT_WAREHOUSE_SCHEMA, target.logger);
    } finally {
      client.release();
    }
  } finally {
    await close();
  }
}
