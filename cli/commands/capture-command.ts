import type { Command } from 'commander';
import { captureStatusFile } from '../../runtime/pipeline-status.js';
import { withDatabases } from '../database-command.js';
import { runAction } from '../run-action.js';
import { progressBar } from '../ui/progress-bar.js';

export function registerCaptureCommand(program: Command): void {
  program
    .command('capture')
    .description('run only the capture process in the foreground: snapshot, then tail the WAL into the change stream (Ctrl-C stops cleanly)')
    .action((_options: unknown, command: Command) =>
      runAction(() =>
        withDatabases(command, 'capture', false, async ({ config, logger, dbs }) => {
          const { runCaptureProcess } = await import('../../capture/capture-process.js');
          const { createChangeStreamWriter } = await import('../../stream/create-change-stream.js');
          const bar = progressBar('snapshot', 'rows');
          const code = await runCaptureProcess({
            sourceUrl: dbs.sourceUrl,
            config,
            logger,
            statusFile: captureStatusFile(config),
            onSnapshotProgress: (p) => bar.update(p.rows, p.totalRows, p.table),
            openWriter: () => createChangeStreamWriter(config, logger),
          });
          bar.stop();
          return code;
        }),
      ),
    );
}
