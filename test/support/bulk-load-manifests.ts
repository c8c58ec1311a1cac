import type { ObjectStore } from '../../bucket/object-store.js';
import { BulkLoad } from '../../loader/bulk-load.js';
import { loadPendingManifests } from '../../loader/run-loader.js';
import { readManifest } from '../../loader/manifest-reader.js';
import { silentLogger } from '../../platform/logger.js';

/** Loads the given manifests, in order, the way `replay --rebuild` does (one bulk load into `schema`, then its finish). */
export async function bulkLoadManifests(warehouseUrl: string, schema: string, processed: ObjectStore, written: readonly { manifestKey: string }[]): Promise<void> {
  const bulk = await BulkLoad.open({ warehouseUrl, schema, processed, logger: silentLogger });
  try {
    for (const { manifestKey } of written) await bulk.load(manifestKey, await readManifest(processed, manifestKey));
    await bulk.finish();
  } finally {
    await bulk.close();
  }
}

/**
 * The same manifests loaded both ways the product loads them: per manifest (loadPendingManifests, as
 * `up` and `sync` do) into `schema`, and in one bulk load of `written` (as `replay --rebuild`) into
 * `<schema>_bulk`; `read` gives each schema's content, so a test compares both with one expectation.
 */
export async function loadPerManifestAndBulk<T>(
  warehouseUrl: string,
  processed: ObjectStore,
  written: readonly { manifestKey: string }[],
  schema: string,
  read: (schema: string) => Promise<T>,
): Promise<{ perManifest: T; bulk: T }> {
  await loadPendingManifests({ warehouseUrl, processed, logger: silentLogger, schema });
  const perManifest = await read(schema);
  await bulkLoadManifests(warehouseUrl, `${schema}_bulk`, processed, written);
  return { perManifest, bulk: await read(`${schema}_bulk`) };
}
