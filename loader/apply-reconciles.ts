import type { ManifestReconcile } from '../contracts/reconcile.js';
import type { Logger } from '../platform/logger.js';
import { qualified } from './warehouse-ddl.js';
import { RECONCILE_APPLIED_TABLE, RECONCILE_COPIES_TABLE, reconcileDeleteSql } from './reconcile-sql.js';
import type { WarehouseClient } from './warehouse-pool.js';

export interface ReconcileOutcome {
  /** Reconciles applied by this manifest (the copy of their last shard arrived with it). */
  applied: number;
  /** Rows that got a delete version. */
  rowsDeleted: number;
}

/**
 * Applies a manifest's reconcile copies (contracts/reconcile.ts), in the manifest's transaction
 * after its rows, so a crash or a Lambda retry either did all of it with the ledger row or none.
 * Each copy is recorded per shard; a reconcile is applied when the copy of every shard it was
 * sent to has been loaded (each shard's earlier changes are loaded by then), and recorded as
 * applied, so it happens once. The delete SQL is idempotent besides (reconcile-sql.ts).
 */
export async function applyReconciles(
  client: Pick<WarehouseClient, 'query'>,
  schema: string,
  manifestKey: string,
  reconciles: readonly ManifestReconcile[] | undefined,
  logger: Logger,
): Promise<ReconcileOutcome> {
  const outcome: ReconcileOutcome = { applied: 0, rowsDeleted: 0 };
  if (!reconciles?.length) return outcome;
  const copiesTable = qualified(schema, RECONCILE_COPIES_TABLE);
  const appliedTable = qualified(schema, RECONCILE_APPLIED_TABLE);
  for (const { copyShards, record } of reconciles) {
    await client.query(
      `INSERT INTO ${copiesTable} (reconcile_id, shard_id, manifest_key) SELECT $1, shard, $3 FROM unnest($2::text[]) AS shard ON CONFLICT DO NOTHING`,
      [record.id, copyShards, manifestKey],
    );
    const { rowCount: done } = await client.query(`SELECT 1 FROM ${appliedTable} WHERE reconcile_id = $1`, [record.id]);
    if (done) continue;
    if (record.shards) {
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${copiesTable} WHERE reconcile_id = $1 AND shard_id = ANY($2::text[])`, [record.id, record.shards]);
      if (rows[0].n < new Set(record.shards).size) continue; // another shard's earlier changes may not be loaded yet
    }
    const statement = reconcileDeleteSql(schema, record);
    const deleted = statement ? ((await client.query(statement.text, statement.values)).rowCount ?? 0) : 0;
    await client.query(
      `INSERT INTO ${appliedTable} (reconcile_id, source_table, reason, version_lsn, version_seq, rows_deleted) VALUES ($1, $2, $3, $4::pg_lsn - '0/0'::pg_lsn, $5, $6)`,
      [record.id, record.table, record.reason, record.lsn, record.seq, deleted],
    );
    outcome.applied++;
    outcome.rowsDeleted += deleted;
    if (deleted > 0) logger.info('reconciled: rows absent from the source got a delete version', { event: 'reconcile-applied', reconcileId: record.id, table: record.table, reason: record.reason, lsn: record.lsn, rowsDeleted: deleted });
  }
  return outcome;
}
