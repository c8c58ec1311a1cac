import type { ObjectStore } from '../../bucket/object-store.js';
import { BulkLoad } from '../../loader/bulk-load.js';
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
