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
 *
 * The bookkeeping takes two statements per manifest, whatever its number of reconciles: all its
 * copies recorded by one INSERT, then each reconcile's state (applied already, the shards whose
 * copies are in) read by one SELECT. A first sync's manifests carry several reconciles each: three
 * statements per reconcile were a fifth of its loader's statements (docs/performance.md, round
 * nine). A reconcile's gate looks only at its own copies, so recording the others first changes no
 * outcome. A manifest that names one reconcile twice (two copies apart) goes reconcile by
 * reconcile, so each is applied where it would have been.
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
  const distinct = new Set(reconciles.map((r) => r.record.id)).size === reconciles.length;
  for (const group of distinct ? [reconciles] : reconciles.map((r) => [r])) await applyInTurn(client, schema, manifestKey, group, outcome, logger);
  return outcome;
}

/** Records the copies of `reconciles` (distinct ids), then applies, in order, each one whose gate is open. */
async function applyInTurn(
  client: Pick<WarehouseClient, 'query'>,
  schema: string,
  manifestKey: string,
  reconciles: readonly ManifestReconcile[],
  outcome: ReconcileOutcome,
  logger: Logger,
): Promise<void> {
  const copyIds: string[] = [];
  const copyShards: string[] = [];
  for (const { copyShards: shards, record } of reconciles) {
    for (const shard of shards) {
      copyIds.push(record.id);
      copyShards.push(shard);
    }
  }
  await client.query(
    `INSERT INTO ${qualified(schema, RECONCILE_COPIES_TABLE)} (reconcile_id, shard_id, manifest_key)
     SELECT id, shard, $3 FROM unnest($1::text[], $2::text[]) AS c(id, shard) ON CONFLICT DO NOTHING`,
    [copyIds, copyShards, manifestKey],
  );
  const { rows } = await client.query<{ id: string; applied: boolean; shards: string[] }>(
    `SELECT r.id, EXISTS (SELECT 1 FROM ${qualified(schema, RECONCILE_APPLIED_TABLE)} a WHERE a.reconcile_id = r.id) AS applied,
       ARRAY(SELECT c.shard_id FROM ${qualified(schema, RECONCILE_COPIES_TABLE)} c WHERE c.reconcile_id = r.id) AS shards
     FROM unnest($1::text[]) AS r(id)`,
    [reconciles.map((r) => r.record.id)],
  );
  const state = new Map(rows.map((r) => [r.id, r]));
  for (const { record } of reconciles) {
    const { applied, shards } = state.get(record.id)!;
    if (applied) continue;
    if (record.shards) {
      const loaded = new Set(shards);
      // Another shard's earlier changes may not be loaded yet.
      if (![...new Set(record.shards)].every((shard) => loaded.has(shard))) continue;
    }
    outcome.rowsDeleted += await applyReconcile(client, schema, record, logger);
    outcome.applied++;
  }
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
