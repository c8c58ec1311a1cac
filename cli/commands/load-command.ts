import type { Command } from 'commander';
import { openDatabases } from '../../runtime/databases.js';
import { commandContext } from '../context.js';
import { EXIT, runAction } from '../run-action.js';
import { onShutdown } from '../shutdown.js';

export function registerLoadCommand(program: Command): void {
  program
    .command('load')
    .description('run the loader once: load every processed manifest not yet in the warehouse, print a JSON summary')
    .action((_options: unknown, command: Command) =>
      runAction(async () => {
        const { config, logger } = commandContext(command, 'loader');
        const { loadPendingManifests } = await import('../../loader/run-loader.js');
        const { parquetLimitsFor } = await import('../../loader/manifest-reader.js');
        const { createObjectStore } = await import('../../bucket/create-object-store.js');
        const dbs = await openDatabases(config, logger, { exclusive: false, command: 'load' });
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
          await dbs.close();
        }
      }),
    );
}
