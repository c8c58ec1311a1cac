import type { Command } from 'commander';
import { isAwsDeployment } from '../../ops/aws-status/aws-deployment.js';
import { openDatabases } from '../../runtime/databases.js';
import type { Config } from '../../platform/config.js';
import type { PipelineStatus } from '../../runtime/pipeline-status.js';
import { commandContext } from '../context.js';
import { UserError } from '../../platform/errors.js';
import { runAction } from '../run-action.js';
import { formatBytes, formatCount, formatDuration } from '../../platform/human-format.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show slot lag, capture progress, stream consumer lag and warehouse freshness')
    .option('--json', 'print the status as JSON')
    .option('--web', "open the live dashboard of the `up` running on this state directory (prints its URL)")
    .option('--aws', 'the AWS deployment: slot, CloudWatch metrics, iterator ages, DLQ, quarantine, warehouse; the default when Kinesis, S3 and DynamoDB are set without emulator endpoints (see docs/operations-aws.md)')
    .option('--queue-url <url>', 'with --aws: the processor dead-letter queue [env TOTESYS_PROCESSOR_DLQ_URL]')
    .option('--processor-function <name>', 'with --aws: the processor Lambda, for its IteratorAge [env TOTESYS_PROCESSOR_FUNCTION_NAME]')
    .option('--cloudwatch-endpoint <url>', 'with --aws: CloudWatch endpoint override (tests) [env TOTESYS_CLOUDWATCH_ENDPOINT]')
    .option('--sqs-endpoint <url>', 'with --aws: SQS endpoint override (emulators) [env TOTESYS_SQS_ENDPOINT]')
    .action((options: { json?: boolean; web?: boolean } & AwsStatusFlags, command: Command) =>
      runAction(async () => {
        const { config, logger } = commandContext(command, 'status');
        if (options.web) return openDashboard(config.stateDir, config.dashboard.token);
        if (options.aws || isAwsDeployment(config)) return awsStatus(config, options);
        const { readPipelineStatus } = await import('../../runtime/pipeline-status.js');
        const dbs = await openDatabases(config, logger, { exclusive: false, command: 'status' });
        try {
          const status = await readPipelineStatus(config, dbs, logger, { quarantine: true });
          process.stdout.write(options.json ? JSON.stringify(status, null, 2) + '\n' : renderStatus(status));
        } finally {
          await dbs.close();
        }
      }),
    );
}

async function openDashboard(stateDir: string, token: string | undefined): Promise<void> {
  const { readDashboardAddress, pageUrl } = await import('../../dashboard/dashboard-file.js');
  const { openInBrowser } = await import('../../dashboard/open-browser.js');
  const address = await readDashboardAddress(stateDir);
  if (!address) throw new UserError(`no \`up\` with a dashboard is running on ${stateDir}: start \`totesys-cdc up\` (without --no-dashboard)`);
  const opened = openInBrowser(pageUrl(address.url, token));
  // The token stays out of the printed URL (terminal scrollback, CI logs): the browser gets it.
  process.stdout.write(`dashboard: ${address.url}${token ? ' (add ?token=<TOTESYS_DASHBOARD_TOKEN>)' : ''}${opened ? ', opened in your browser' : ''}\n`);
}

interface AwsStatusFlags {
  aws?: boolean;
  queueUrl?: string;
  processorFunction?: string;
  cloudwatchEndpoint?: string;
  sqsEndpoint?: string;
}

/** `status --aws`: no local state, no embedded Postgres; the databases as doctor finds them (ops/database-urls.ts). */
async function awsStatus(config: Config, options: { json?: boolean } & AwsStatusFlags): Promise<void> {
  const { resolveExternalUrls, secretsManagerGetSecret } = await import('../../ops/database-urls.js');
  const { runAwsStatus } = await import('../../ops/aws-status/run-aws-status.js');
  const { renderAwsStatus } = await import('../../ops/aws-status/render-aws-status.js');
  const urls = await resolveExternalUrls(config, secretsManagerGetSecret());
  const status = await runAwsStatus(config, {
    ...urls,
    queueUrl: options.queueUrl ?? config.operations.processorDlqUrl,
    processorFunctionName: options.processorFunction ?? config.operations.processorFunctionName,
    cloudwatchEndpoint: options.cloudwatchEndpoint ?? config.operations.cloudwatchEndpoint,
    sqsEndpoint: options.sqsEndpoint ?? config.operations.sqsEndpoint,
  });
  process.stdout.write(options.json ? JSON.stringify(status, null, 2) + '\n' : renderAwsStatus(status));
}

export function renderStatus(s: PipelineStatus): string {
  const lines: string[] = [];
  const slot = s.slot;
  if ('error' in slot) lines.push(`slot        error: ${slot.error}`);
  else if (slot.lost === 'missing') lines.push(`slot        ${slot.slotName}: LOST (missing although its snapshot had completed: dropped, or a restore or failover): the capture re-reads every table and reconciles the warehouse when it next starts`);
  else if (!slot.exists) lines.push(`slot        ${slot.slotName}: not created yet (capture has not run)`);
  else {
    if (slot.lost === 'invalidated') lines.push(`slot        ${slot.slotName}: LOST (invalidated: it fell behind max_slot_wal_keep_size): the capture re-reads every table and reconciles the warehouse when it next starts`);
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
    if (c.slotLost) {
      lines.push(
        `            slot lost (${c.slotLost.reason}) at ${c.slotLost.detectedAt}, last confirmed ${c.slotLost.lastConfirmedLsn ?? '-'}: ` +
          (c.slotLost.recoveredAt ? `recovered at ${c.slotLost.recoveredAt} (every table re-read and reconciled)` : 'recovering (re-reading every table)'),
      );
    }
    if (c.truncatesReconciled) lines.push(`            ${formatCount(c.truncatesReconciled)} TRUNCATEs reconciled (their rows got delete versions)`);
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
  if (s.quarantine) lines.push(...renderQuarantine(s.quarantine));
  return lines.join('\n') + '\n';
}

function renderQuarantine(q: NonNullable<PipelineStatus['quarantine']>): string[] {
  if ('error' in q) return [`quarantine  error: ${q.error}`];
  if (q.objects === 0) return ['quarantine  nothing quarantined'];
  const head = `quarantine  ${q.limited ? 'at least ' : ''}${formatCount(q.objects)} event(s) quarantined, newest ${q.newestDate ?? '-'} (processed bucket quarantine/)`;
  // Transform errors already start with `<table>.<column>:`; others get the table named.
  const where = (g: (typeof q.groups)[number]) => (g.table && !g.error.startsWith(`${g.table}.`) ? ` (${g.table})` : '');
  return [head, ...q.groups.slice(0, 5).map((g) => `            ${g.count}× ${g.reason}${where(g)}: ${g.error}`)];
}
