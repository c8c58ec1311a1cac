import { PipelineError, errorMessage, isRetryable } from '../platform/errors.js';
import { createPostgresClient } from '../platform/postgres-client.js';

/**
 * Swaps a rebuilt warehouse schema in, in ONE transaction, so a reader sees either the old
 * warehouse or the complete new one, never a half-built one:
 *   ALTER SCHEMA star RENAME TO star_old_<ts>; ALTER SCHEMA star_rebuild_<ts> RENAME TO star;
 * Views and foreign keys bind by OID, so they move with their schema. The transaction also takes
 * the live loader's advisory lock for the live schema (same class/key the loader uses), so a live
 * loader run finishes before the swap and cannot run during it.
 *
 * The old schema is kept (a rollback is the reverse rename); `dropOldSql` tells how to drop it.
 */
export interface SchemaSwapResult {
  liveSchema: string;
  rebuiltSchema: string;
  /** null when there was no live schema to keep. */
  oldSchema: string | null;
  dropOldSql: string | null;
  /** Undoes the swap (in one transaction), while the old schema is kept. */
  rollbackSql: string | null;
}

/** Loader lock class (loader/run-loader.ts LOADER_LOCK_CLASS): key is hashtext(schema). */
const LOADER_LOCK_CLASS = 0x70ad;

export class SchemaSwapError extends PipelineError {
  constructor(message: string, readonly schema: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options);
  }
}

export async function swapSchemas(warehouseUrl: string, rebuiltSchema: string, liveSchema: string, oldSchema: string): Promise<SchemaSwapResult> {
  const client = createPostgresClient({ url: warehouseUrl, applicationName: 'totesys-cdc-replay' });
  await client.connect();
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOADER_LOCK_CLASS, liveSchema]);
      const { rows } = await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])', [[liveSchema, rebuiltSchema, oldSchema]]);
      const existing = new Set(rows.map((r) => r.nspname));
      if (!existing.has(rebuiltSchema)) throw new SchemaSwapError(`rebuilt schema ${rebuiltSchema} does not exist`, rebuiltSchema, { retryable: false });
      if (existing.has(oldSchema)) throw new SchemaSwapError(`schema ${oldSchema} already exists; drop or rename it first`, oldSchema, { retryable: false });
      const hadLive = existing.has(liveSchema);
      if (hadLive) await client.query(`ALTER SCHEMA ${client.escapeIdentifier(liveSchema)} RENAME TO ${client.escapeIdentifier(oldSchema)}`);
      await client.query(`ALTER SCHEMA ${client.escapeIdentifier(rebuiltSchema)} RENAME TO ${client.escapeIdentifier(liveSchema)}`);
      await client.query('COMMIT');
      return {
        liveSchema,
        rebuiltSchema,
        oldSchema: hadLive ? oldSchema : null,
        dropOldSql: hadLive ? `DROP SCHEMA ${client.escapeIdentifier(oldSchema)} CASCADE;` : null,
        rollbackSql: hadLive
          ? `BEGIN; ALTER SCHEMA ${client.escapeIdentifier(liveSchema)} RENAME TO ${client.escapeIdentifier(rebuiltSchema)}; ALTER SCHEMA ${client.escapeIdentifier(oldSchema)} RENAME TO ${client.escapeIdentifier(liveSchema)}; COMMIT;`
          : null,
      };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      if (error instanceof SchemaSwapError) throw error;
      throw new SchemaSwapError(`schema swap failed: ${errorMessage(error)}`, liveSchema, { retryable: isRetryable(error), cause: error });
    }
  } finally {
    await client.end();
  }
}
