import type { BatchManifest } from '../contracts/manifest.js';
import type { WarehouseTable } from '../contracts/warehouse-model.js';
import type { ObjectStore } from '../bucket/object-store.js';
import type { Logger } from '../platform/logger.js';
import type { ParquetReadLimits } from '../parquet/parquet-bounds.js';
import { fetchManifestFiles, loadManifestInTransaction, type LoadManifestResult } from './load-manifest.js';
import { PipelineError } from '../platform/errors.js';
import type { WarehouseClient } from './warehouse-pool.js';

/**
 * Several pending manifests in ONE transaction, in key order, each exactly as loadManifest loads
 * it (the same statements, its own ledger row and watermarks), so a backlog of small manifests
 * costs one commit and one round of file fetches instead of one each. All or nothing: any error
 * rolls the whole group back and is thrown; the caller then loads the group one manifest per
 * transaction, so a bad manifest is recorded and retried alone and never holds back the others.
 * Exactly-once holds per manifest: a batch already in the ledger (also one loaded earlier in this
 * same transaction, for a batch written twice under two keys) is skipped before any write.
 */
export interface ManifestToLoad {
  manifestKey: string;
  manifest: BatchManifest;
}

/** Bounds of one group: manifests, and rows held in memory at once (every file is fetched before the first load). */
export const GROUP_LIMITS = { maxManifests: 50, maxRows: 100_000 } as const;

/** Splits pending manifests (key order) into consecutive groups within `limits`; a manifest over maxRows forms a group alone. */
export function groupManifests<T extends ManifestToLoad>(pending: readonly T[], limits: { maxManifests: number; maxRows: number } = GROUP_LIMITS): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let rows = 0;
  for (const item of pending) {
    const itemRows = item.manifest.files.reduce((n, f) => n + f.rows, 0);
    if (current.length > 0 && (current.length >= limits.maxManifests || rows + itemRows > limits.maxRows)) {
      groups.push(current);
      current = [];
      rows = 0;
    }
    current.push(item);
    rows += itemRows;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

export async function loadManifestsTogether(args: {
  client: WarehouseClient;
  schema: string;
  store: ObjectStore;
  group: readonly ManifestToLoad[];
  logger: Logger;
  parquetLimits?: ParquetReadLimits;
}): Promise<{ manifestKey: string; result: LoadManifestResult }[]> {
  const { client, schema, store, group, logger } = args;
  const startedMs = performance.now();
  // Every file of the group is fetched at once, while the first manifests load.
  const files = group.map(({ manifestKey, manifest }) => {
    const fetching = fetchManifestFiles(store, manifestKey, manifest, args.parquetLimits);
    fetching.catch(() => undefined); // awaited below, or not needed (skipped, or an earlier error)
    return fetching;
  });
  const staged = new Set<WarehouseTable>();
  const results: { manifestKey: string; result: LoadManifestResult }[] = [];
  await client.query('BEGIN');
  try {
    for (const [index, { manifestKey, manifest }] of group.entries()) {
      const result = await loadManifestInTransaction({ client, schema, manifestKey, manifest, logger, fetchFiles: () => files[index], staged, startedMs });
      if (result.status === 'raced') throw new GroupLedgerRaceError(manifestKey, result.batchId);
      results.push({ manifestKey, result });
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
  logger.debug('manifests loaded together', { manifests: group.length, loaded: results.filter((r) => r.result.status === 'loaded').length, durationMs: Math.round(performance.now() - startedMs) });
  return results;
}

/** A manifest's ledger row was written by someone else during the group's transaction: the group is rolled back and loaded one by one. */
export class GroupLedgerRaceError extends PipelineError {
  constructor(readonly manifestKey: string, readonly batchId: string) {
    super(`manifest ${manifestKey}: batch ${batchId} was recorded by another loader during this load`, { retryable: true, context: { manifestKey, batchId } });
  }
}
