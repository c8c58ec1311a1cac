import { createObjectStore } from '../../bucket/create-object-store.js';
import { summariseLocalQuarantine } from '../../runtime/quarantine-summary.js';
import { syncPipeline } from '../../runtime/sync-pipeline.js';
import type { DatabaseCommandContext } from '../database-command.js';
import { EXIT } from '../run-action.js';
import { progressBar } from '../ui/progress-bar.js';

/** `totesys-cdc sync` (registered in cli/main.ts): every stage up to the source's current WAL position, a JSON summary on stdout. */
export async function run({ config, logger, dbs }: DatabaseCommandContext): Promise<number> {
  const bar = progressBar('snapshot', 'rows');
  const summary = await syncPipeline({
    config,
    sourceUrl: dbs.sourceUrl,
    warehouseUrl: dbs.warehouseUrl,
    logger,
    onSnapshotProgress: (p) => bar.update(p.rows, p.totalRows, p.table),
    onPhase: (phase) => {
      bar.stop();
      logger.info(`sync: ${phase}`);
    },
  });
  // This run's quarantines decide the exit code; the total (earlier runs, `up`) is shown beside them.
  const quarantine = await summariseLocalQuarantine(createObjectStore(config, 'processed'), { detailLimit: 0 });
  process.stdout.write(
    JSON.stringify(
      {
        targetLsn: summary.targetLsn,
        eventsCaptured: summary.capture.eventsPublished,
        snapshotRows: summary.capture.snapshotRows,
        eventsProcessed: summary.processor.events,
        eventsQuarantined: summary.processor.quarantined,
        quarantinedTotal: quarantine.objects,
        eventsArchived: summary.archiver.records,
        manifestsLoaded: summary.loader.manifests,
        manifestsFailed: summary.loader.failures,
        rowsLoaded: summary.loader.rowsByTable,
        slotLagBytes: summary.slot.lagBytes,
        warehouseFreshnessMs: summary.warehouse.freshnessMs,
        warehouseRows: summary.warehouse.rowsByTable,
        durationMs: summary.durationMs,
      },
      null,
      2,
    ) + '\n',
  );
  return summary.loader.failures > 0 || summary.processor.quarantined > 0 ? EXIT.partial : EXIT.ok;
}
