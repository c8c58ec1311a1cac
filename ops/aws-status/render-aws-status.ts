import { formatBytes, formatCount, formatDuration } from '../../cli/ui/format.js';
import type { AwsStatus } from './aws-status.js';

const ms = (value: number | null) => (value === null ? '-' : formatDuration(value));

/** The human form of `status --aws`, one line per part like the local `status`. */
export function renderAwsStatus(s: AwsStatus): string {
  const lines: string[] = [];
  const slot = s.slot;
  if ('error' in slot) lines.push(`slot        error: ${slot.error}`);
  else if (!slot.exists) lines.push(`slot        ${slot.slotName}: not created yet (the capture has not run)`);
  else lines.push(`slot        ${slot.slotName}: ${slot.active ? 'active' : 'INACTIVE'}, lag ${formatBytes(slot.lagBytes)}, wal_status ${slot.walStatus ?? '-'}, confirmed ${slot.confirmedFlushLsn ?? '-'}`);

  const m = s.metrics;
  if ('error' in m) lines.push(`metrics     error: ${m.error}`);
  else {
    const c = m.capture;
    lines.push(
      `capture     ${c.stale ? `NO HEARTBEAT ${c.lastHeartbeatAt ? `since ${c.lastHeartbeatAt}` : `in the last ${m.windowMinutes} min`}` : `heartbeat ${ms(c.heartbeatAgeMs)} ago`}, ` +
        `${formatCount(c.eventsPublished)} events published in ${m.windowMinutes} min, slot lag ${c.slotLagBytes === null ? '-' : formatBytes(c.slotLagBytes)}, ` +
        `confirmed-LSN lag ${ms(c.confirmedLsnLagMs)}, sink latency ${ms(c.sinkLatencyMs)}`,
    );
    lines.push(`stream      Kinesis iterator age ${ms(m.stream.kinesisIteratorAgeMs)}, processor Lambda iterator age ${ms(m.stream.lambdaIteratorAgeMs)}`);
    lines.push(`processor   ${formatCount(m.processor.eventsProcessed)} events processed, ${formatCount(m.processor.eventsQuarantined)} quarantined in ${m.windowMinutes} min`);
    lines.push(`loader      freshness ${ms(m.loader.warehouseFreshnessMs)}, watermark age ${ms(m.loader.warehouseWatermarkAgeMs)}, ${m.loader.loaderFailures} failures in ${m.windowMinutes} min`);
  }
  const dlq = s.deadLetterQueue;
  if (dlq === null) lines.push('dlq         not configured (--queue-url / TOTESYS_PROCESSOR_DLQ_URL)');
  else if ('error' in dlq) lines.push(`dlq         error: ${dlq.error}`);
  else lines.push(`dlq         ${dlq.visible} failed range(s) waiting${dlq.inFlight ? `, ${dlq.inFlight} in flight` : ''}${dlq.visible ? ': fix the cause, then totesys-cdc redrive-dlq' : ''}`);
  const q = s.quarantine;
  if ('error' in q) lines.push(`quarantine  error: ${q.error}`);
  else lines.push(`quarantine  ${q.limited ? 'at least ' : ''}${formatCount(q.objects)} record(s)${q.newestDate ? `, newest ${q.newestDate}` : ''}`);
  const w = s.warehouse;
  if ('error' in w) lines.push(`warehouse   error: ${w.error}`);
  else if (!w.initialised) lines.push(`warehouse   schema ${w.schema} not created yet (nothing loaded)`);
  else {
    lines.push(
      `warehouse   ${w.schema}: freshness ${ms(w.freshnessMs)} (newest commit ${w.newestCommitTs ?? '-'}), ${formatCount(w.manifestsLoaded)} batches loaded, last load ${w.lastLoadAt ?? '-'}` +
        (w.failedManifests ? `, ${w.failedManifests} FAILED (${w.parkedManifests} parked)` : ''),
    );
  }
  return lines.join('\n') + '\n';
}
