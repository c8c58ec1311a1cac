import { createHash } from 'node:crypto';
import { PipelineError, errorMessage, isRetryable } from '../platform/errors.js';
import { createPostgresClient } from '../platform/postgres-client.js';
import { LOADER_LOCK_CLASS } from './warehouse-ddl.js';

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


export class SchemaSwapError extends PipelineError {
  constructor(message: string, readonly schema: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options);
  }
}

/** Postgres truncates identifiers to NAMEDATALEN-1 = 63 bytes (silently, with a NOTICE). */
const MAX_IDENTIFIER_BYTES = 63;
const PLAIN_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * The rebuild and old schema names of a swap at `stamp` (e.g. `20261122_120000`). A name longer
 * than 63 bytes would be truncated by Postgres, and `<63-char live>_rebuild_<ts>` truncates back to
 * the live name itself (the rebuild would load straight into the live schema): a long live name
 * keeps its first characters plus a hash of the whole name, so every generated name fits, is
 * distinct from the live one, and stays the same for the same live name and stamp.
 */
export function swapSchemaNames(liveSchema: string, stamp: string): { rebuildSchema: string; oldSchema: string } {
  const build = (kind: string) => {
    const suffix = `_${kind}_${stamp}`;
    const full = `${liveSchema}${suffix}`;
    if (Buffer.byteLength(full) <= MAX_IDENTIFIER_BYTES) return full;
    const hash = createHash('sha256').update(liveSchema).digest('hex').slice(0, 8);
    return `${liveSchema.slice(0, MAX_IDENTIFIER_BYTES - suffix.length - hash.length - 1)}_${hash}${suffix}`;
  };
  const names = { rebuildSchema: build('rebuild'), oldSchema: build('old') };
  checkSwapNames(liveSchema, names.rebuildSchema, names.oldSchema);
  return names;
}

/** Generated names are checked after they are built: plain, at most 63 bytes, three distinct names. */
function checkSwapNames(liveSchema: string, rebuiltSchema: string, oldSchema: string): void {
  for (const name of [liveSchema, rebuiltSchema, oldSchema]) {
    if (!PLAIN_IDENTIFIER.test(name)) throw new SchemaSwapError(`schema name ${JSON.stringify(name)} is not a plain lower-case identifier`, name, { retryable: false });
    if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
      throw new SchemaSwapError(`schema name ${name} is ${Buffer.byteLength(name)} bytes; Postgres keeps only ${MAX_IDENTIFIER_BYTES} and would truncate it`, name, { retryable: false });
    }
  }
  if (new Set([liveSchema, rebuiltSchema, oldSchema]).size !== 3) {
    throw new SchemaSwapError(`schema names must differ: live ${liveSchema}, rebuilt ${rebuiltSchema}, old ${oldSchema}`, liveSchema, { retryable: false });
  }
}

export async function swapSchemas(warehouseUrl: string, rebuiltSchema: string, liveSchema: string, oldSchema: string): Promise<SchemaSwapResult> {
  checkSwapNames(liveSchema, rebuiltSchema, oldSchema);
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
