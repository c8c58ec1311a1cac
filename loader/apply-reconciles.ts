import type { ManifestReconcile, ReconcileRecord } from '../contracts/reconcile.js';
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
    const deleted = await applyReconcile(client, schema, record, logger);
    outcome.applied++;
    outcome.rowsDeleted += deleted;
  }
  return outcome;
}

/**
 * Replay's rule (replay/replay.ts): the archive's reconciles, deduplicated by id, applied in
 * version order once every archived event is loaded. It stands for the live loader's cross-shard
 * gate: that gate waits until each shard's changes before the reconcile are loaded, which an
 * ordered replay guarantees for every reconcile at once (the archive sorted by version, all of it
 * loaded first). Order among reconciles matters (a delete version at V1 makes a key dead for a
 * reconcile at V2 > V1); order against later changes does not (reconcile-sql.ts looks only below V).
 * A reconcile the schema already applied (reconcile_applied) is skipped, so the live schema
 * replayed again changes nothing.
 */
export async function applyReconcilesInOrder(
  client: Pick<WarehouseClient, 'query'>,
  schema: string,
  records: readonly ReconcileRecord[],
  logger: Logger,
): Promise<ReconcileOutcome> {
  const outcome: ReconcileOutcome = { applied: 0, rowsDeleted: 0 };
  const appliedTable = qualified(schema, RECONCILE_APPLIED_TABLE);
  for (const record of records) {
    const { rowCount: done } = await client.query(`SELECT 1 FROM ${appliedTable} WHERE reconcile_id = $1`, [record.id]);
    if (done) continue;
    outcome.rowsDeleted += await applyReconcile(client, schema, record, logger);
    outcome.applied++;
  }
  return outcome;
}

/** One reconcile's delete versions and its reconcile_applied row; the rows deleted. */
async function applyReconcile(client: Pick<WarehouseClient, 'query'>, schema: string, record: ReconcileRecord, logger: Logger): Promise<number> {
  const statement = reconcileDeleteSql(schema, record);
  const deleted = statement ? ((await client.query(statement.text, statement.values)).rowCount ?? 0) : 0;
  await client.query(
    `INSERT INTO ${qualified(schema, RECONCILE_APPLIED_TABLE)} (reconcile_id, source_table, reason, version_lsn, version_seq, rows_deleted) VALUES ($1, $2, $3, $4::pg_lsn - '0/0'::pg_lsn, $5, $6)`,
    [record.id, record.table, record.reason, record.lsn, record.seq, deleted],
  );
  if (deleted > 0) logger.info('reconciled: rows absent from the source got a delete version', { event: 'reconcile-applied', reconcileId: record.id, table: record.table, reason: record.reason, lsn: record.lsn, rowsDeleted: deleted });
  return deleted;
}
