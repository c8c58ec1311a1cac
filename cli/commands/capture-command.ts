import { runCaptureProcess } from '../../capture/capture-process.js';
import { captureStatusFile } from '../../runtime/pipeline-status.js';
import { createChangeStreamWriter } from '../../stream/create-change-stream.js';
import type { DatabaseCommandContext } from '../database-command.js';
import { progressBar } from '../ui/progress-bar.js';

/** `totesys-cdc capture` (registered in cli/main.ts): only the capture process, in the foreground, until Ctrl-C. */
export async function run({ config, logger, dbs }: DatabaseCommandContext): Promise<number> {
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
}
