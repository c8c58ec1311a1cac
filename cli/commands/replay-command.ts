import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { openDatabases } from '../../runtime/databases.js';
import { commandContext } from '../context.js';
import { EXIT, runAction } from '../run-action.js';
import { progressBar, type ProgressBar } from '../ui/progress-bar.js';

function isoTime(flag: string) {
  return (value: string): Date => {
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) throw new InvalidArgumentError(`${flag} must be an ISO time such as 2026-11-23T10:00Z, got ${JSON.stringify(value)}`);
    return date;
  };
}

function lanesCount(value: string): number {
  const lanes = Number(value);
  if (!Number.isInteger(lanes) || lanes < 1 || lanes > 16) throw new InvalidArgumentError(`--lanes must be a whole number from 1 to 16, got ${JSON.stringify(value)}`);
  return lanes;
}

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description('rebuild processed files and the warehouse from the raw change archive (the system of record)')
    .option('--from <time>', 'first arrival hour to read (ISO time; default: the beginning)', isoTime('--from'))
    .option('--to <time>', 'end of the arrival-time range, exclusive (ISO time; default: now)', isoTime('--to'))
    .option('--tables <list>', 'only these source tables, comma-separated (not with --rebuild)', (v: string) => v.split(',').map((t) => t.trim()).filter(Boolean))
    .option('--rebuild', 'build a new warehouse schema from scratch, then swap it in atomically (readers never see a half-built one)')
    .option('--lanes <n>', 'with --rebuild: worker threads that process and load key-partitioned shares of the events (default 2, or one per two cores on bigger machines; 1 = this thread only)', lanesCount)
    .addHelpText(
      'after',
      '\nEvents are read in commit order per key, deduplicated by event id, run through the same processor code into\n' +
        'archive-replay/<id>/ in the processed bucket, then loaded. Bad input is skipped into a report (exit code 3).',
    )
    .action((options: { from?: Date; to?: Date; tables?: string[]; rebuild?: boolean; lanes?: number }, command: Command) =>
      runAction(async () => {
        const { config, logger } = commandContext(command, 'replay');
        const { replay } = await import('../../replay/replay.js');
        const { createObjectStore } = await import('../../bucket/create-object-store.js');
        const dbs = await openDatabases(config, logger, { exclusive: false, command: 'replay' });
        const bars = new Map<string, ProgressBar>();
        try {
          const summary = await replay({
            ingestion: createObjectStore(config, 'ingestion'),
            processed: createObjectStore(config, 'processed'),
            warehouseUrl: dbs.warehouseUrl,
            from: options.from,
            to: options.to,
            tables: options.tables,
            rebuild: options.rebuild,
            lanes: options.lanes,
            schema: config.warehouseSchema,
            limits: { maxLineBytes: config.bounds.maxLineBytes, maxIssuesPerFile: config.bounds.maxIssuesPerFile },
            logger,
            onProgress: (p) => {
              let bar = bars.get(p.phase);
              if (!bar) {
                for (const other of bars.values()) other.stop();
                bar = progressBar(`replay ${p.phase}`, p.unit);
                bars.set(p.phase, bar);
              }
              bar.update(p.done, p.total, `${Math.round(p.eventsPerSecond)} events/s`);
            },
          });
          for (const bar of bars.values()) bar.stop();
          const { issues, ...rest } = summary;
          process.stdout.write(JSON.stringify({ ...rest, issues: issues.slice(0, 20), issuesShown: Math.min(issues.length, 20) }, null, 2) + '\n');
          if (summary.swap) process.stderr.write(`rebuilt warehouse swapped in; the previous one is kept as ${summary.swap.oldSchema}. Drop it with:\n  ${summary.swap.dropOldSql}\n`);
          return summary.partial ? EXIT.partial : EXIT.ok;
        } finally {
          await dbs.close();
        }
      }),
    );
}
