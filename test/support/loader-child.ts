import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { silentLogger } from '../../platform/logger.js';
import { loadPendingManifests } from '../../loader/run-loader.js';

/** A loader run in its own process, so a test can kill it mid-transaction (LOADER_URL, LOADER_DIR, LOADER_SCHEMA). */
const summary = await loadPendingManifests({
  warehouseUrl: process.env.LOADER_URL!,
  processed: new LocalDirObjectStore(process.env.LOADER_DIR!),
  schema: process.env.LOADER_SCHEMA!,
  logger: silentLogger,
});
process.stdout.write(JSON.stringify(summary) + '\n');
