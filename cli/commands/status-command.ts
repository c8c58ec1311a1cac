import type { Command } from 'commander';
import { openDatabases } from '../../runtime/databases.js';
import type { PipelineStatus } from '../../runtime/pipeline-status.js';
import { commandContext } from '../context.js';
import { runAction } from '../run-action.js';
import { formatBytes, formatCount, formatDuration } from '../ui/format.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show slot lag, capture progress, stream consumer lag and warehouse freshness')
    .option('--json', 'print the status as JSON')
    .action((options: { json?: boolean }, command: Command) =>
      runAction(async () => {
        const { config, logger } = commandContext(command, 'status');
        const { readPipelineStatus } = await import('../../runtime/pipeline-status.js');
        const dbs = await openDatabases(config, logger, { exclusive: false, command: 'status' });
        try {
          const status = await readPipelineStatus(config, dbs, logger);
          process.stdout.write(options.json ? JSON.stringify(status, null, 2) + '\n' : renderStatus(status));
        } finally {
          await dbs.close();
        }
      }),
    );
}

export function renderStatus(s: PipelineStatus): string {
  const lines: string[] = [];
  const slot = s.slot;
  if ('error' in slot) lines.push(`slot        error: ${slot.error}`);
  else if (!slot.exists) lines.push(`slot        ${slot.slotName}: not created yet (capture has not run)`);
  else {
    lines.push(
      `slot        ${slot.slotName}: ${slot.active ? 'active' : 'INACTIVE'}, lag ${formatBytes(slot.lagBytes)}, wal_status ${slot.walStatus ?? '-'}, ` +
        `safe_wal_size ${slot.safeWalSizeBytes === null ? 'unlimited' : formatBytes(slot.safeWalSizeBytes)}, confirmed ${slot.confirmedFlushLsn ?? '-'}` +
        (slot.snapshot ? `, snapshot ${slot.snapshot}` : ''),
    );
    const bridge = slot.bridge;
    if (bridge) lines.push(`            bridge slot ${bridge.slotName} (snapshot being redone): ${bridge.active ? 'active' : 'INACTIVE'}, lag ${formatBytes(bridge.lagBytes)}`);
  }
  const c = s.capture;
  if (!c) lines.push('capture     no status file (not started on this state directory)');
  else {
    lines.push(
      `capture     ${c.stale ? `not running (last seen ${c.updatedAt}, ${c.phase})` : c.phase}, ${formatCount(c.eventsPublished)} events published ` +
        `(${c.eventsPerSec.toFixed(1)}/s), confirmed ${c.lastConfirmedLsn ?? '-'}, sink latency ${formatDuration(c.sinkLatencyMs)}` +
        (c.lastError ? `, last error: ${c.lastError}` : ''),
    );
  }
  if ('error' in s.stream) lines.push(`stream      error: ${s.stream.error}`);
  else for (const lag of s.stream) lines.push(`stream      ${lag.consumer.padEnd(17)} ${formatCount(lag.records)} records behind, oldest unread ${formatDuration(lag.maxAgeMs)}`);
  const w = s.warehouse;
  if ('error' in w) lines.push(`warehouse   error: ${w.error}`);
  else if (!w.initialised) lines.push(`warehouse   schema ${w.schema} not created yet (nothing loaded)`);
  else {
    lines.push(
      `warehouse   ${w.schema}: complete up to ${w.watermarkTs ?? '- (no watermark yet)'} (watermark age ${formatDuration(w.watermarkAgeMs)}), ` +
        `freshness ${formatDuration(w.freshnessMs)} (newest commit ${w.newestCommitTs ?? '-'}), ${formatCount(w.manifestsLoaded)} batches loaded, ` +
        `last load ${w.lastLoadAt ?? '-'}` +
        (w.failedManifests ? `, ${w.failedManifests} FAILED (${w.parkedManifests} parked: see ${w.schema}.load_failures)` : ''),
    );
    lines.push(`            rows: ${Object.entries(w.rowsByTable).map(([t, n]) => `${t} ${formatCount(n)}`).join(', ')}`);
  }
  return lines.join('\n') + '\n';
}
