import { createObjectStore } from '../../bucket/create-object-store.js';
import { parquetLimitsFor } from '../../loader/manifest-reader.js';
import { loadPendingManifests } from '../../loader/run-loader.js';
import type { DatabaseCommandContext } from '../database-command.js';
import { EXIT } from '../run-action.js';
import { onShutdown } from '../shutdown.js';

/** `totesys-cdc load` (registered in cli/main.ts): the loader once, a JSON summary on stdout. */
export async function run({ config, logger, dbs }: DatabaseCommandContext): Promise<number> {
  // Ctrl-C / SIGTERM: exit, and the postmaster this run started is stopped on the way out
  // (postmaster-process.ts); the manifest in progress rolls back and loads on the next run.
  const off = onShutdown(() => process.exit(130));
  try {
    const summary = await loadPendingManifests({
      warehouseUrl: dbs.warehouseUrl,
      processed: createObjectStore(config, 'processed'),
      schema: config.warehouseSchema,
      logger,
      parquetLimits: parquetLimitsFor(config.bounds),
    });
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return summary.manifestsFailed > 0 ? EXIT.partial : EXIT.ok;
  } finally {
    off();
  }
}
