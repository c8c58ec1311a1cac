import type { Command } from 'commander';
import { openDatabases } from '../../runtime/databases.js';
import { prepareSourceSchema } from '../../runtime/source-setup.js';
import { commandContext, nonNegativeInteger, positiveNumber } from '../context.js';
import { runAction } from '../run-action.js';
import { progressBar } from '../ui/progress-bar.js';

export function registerSeedCommand(program: Command): void {
  program
    .command('seed')
    .description('create the totesys schema and fill it with deterministic, realistic data')
    .option('--scale <s>', 'size relative to the real totesys (1 = ~11k sales orders, 100 = ~1.5M)', positiveNumber('--scale'), 1)
    .option('--seed <n>', 'random seed: the same seed gives the same data', nonNegativeInteger('--seed'), 1)
    .action((options: { scale: number; seed: number }, command: Command) =>
      runAction(async () => {
        const { config, logger } = commandContext(command, 'seed');
        const dbs = await openDatabases(config, logger, { exclusive: false, command: 'seed' });
        try {
          await prepareSourceSchema(dbs.sourceUrl, dbs.embeddedSource || config.createSourceSchema);
          const { seedTotesys } = await import('../../totesys/generator/seed-totesys.js');
          const bar = progressBar('seeding totesys', 'rows');
          const summary = await seedTotesys(dbs.sourceUrl, {
            scale: options.scale,
            seed: options.seed,
            applySchema: false, // prepareSourceSchema decided above
            logger,
            onProgress: (p) => bar.update(p.rows, p.totalRows, p.table),
          });
          bar.stop();
          process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        } finally {
          await dbs.close();
        }
      }),
    );
}
