import type { Command } from 'commander';
import { captureStatusFile } from '../../runtime/pipeline-status.js';
import { registerDatabaseCommand } from '../database-command.js';
import { progressBar } from '../ui/progress-bar.js';

export function registerCaptureCommand(program: Command): void {
  registerDatabaseCommand(
    program,
    { name: 'capture', description: 'run only the capture process in the foreground: snapshot, then tail the WAL into the change stream (Ctrl-C stops cleanly)', service: 'capture', exclusive: false },
    async ({ config, logger, dbs }) => {
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
    },
  );
}
