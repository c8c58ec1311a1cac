import type { Command } from 'commander';
import { openDatabases } from '../../runtime/databases.js';
import { commandContext, nonNegativeInteger, positiveNumber } from '../context.js';
import { runAction } from '../run-action.js';
import { onShutdown } from '../shutdown.js';

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('keep changing totesys like the real shop: new orders, payments marked paid, silent updates, deletes')
    .option('--rate <r>', 'changes per second', positiveNumber('--rate'), 5)
    .option('--duration <s>', 'stop after this many seconds', positiveNumber('--duration'))
    .option('--changes <n>', 'stop after this many changes', nonNegativeInteger('--changes'))
    .option('--seed <n>', 'random seed: the same seed and data give the same changes', nonNegativeInteger('--seed'), 1)
    .action((options: { rate: number; duration?: number; changes?: number; seed: number }, command: Command) =>
      runAction(async () => {
        const { config, logger } = commandContext(command, 'simulate');
        const { runSimulator } = await import('../../totesys/simulator/run-simulator.js');
        const dbs = await openDatabases(config, logger, { exclusive: false, command: 'simulate' });
        const abort = new AbortController();
        const unsubscribe = onShutdown(() => abort.abort());
        try {
          let lastReport = Date.now();
          let sinceReport = 0;
          const summary = await runSimulator(dbs.sourceUrl, {
            ratePerSecond: options.rate,
            durationMs: options.duration === undefined ? undefined : options.duration * 1000,
            changes: options.changes,
            seed: options.seed,
            signal: abort.signal,
            logger,
            onChange: () => {
              sinceReport++;
              const now = Date.now();
              if (now - lastReport >= 1000) {
                process.stderr.write(`simulate: ${(sinceReport / ((now - lastReport) / 1000)).toFixed(1)} changes/s\n`);
                lastReport = now;
                sinceReport = 0;
              }
            },
          });
          process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        } finally {
          unsubscribe();
          await dbs.close();
        }
      }),
    );
}
