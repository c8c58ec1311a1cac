import { METRIC } from '../platform/metrics.js';
import type { BatchManifest } from '../contracts/manifest.js';
import { decodeRecords, type DecodedRecords, type StreamRecordInput } from './decode-records.js';
import { processEvents, type ProcessDeps } from './process-batch.js';
import { loggingMetrics } from './processor-metrics.js';
import { writeQuarantine } from './quarantine.js';

export interface ProcessRecordsResult {
  manifest: BatchManifest | null;
  records: number;
  events: number;
  /** Poison records quarantined while decoding (processEvents counts its own). */
  quarantined: number;
}

/**
 * Raw stream records → quarantine for poison + processEvents for the rest. Shared by the local
 * consumer and the Lambda handler. Rejects (retryable or not) only when something other than the
 * input failed; the caller then retries the same records, which is idempotent.
 */
export async function processRecords(records: readonly StreamRecordInput[], deps: ProcessDeps): Promise<ProcessRecordsResult> {
  return processDecodedRecords(decodeRecords(records), records.length, deps);
}

/**
 * processRecords for records already decoded (decodeRecords): the local processor decodes its next
 * batch while the current one waits for its writes to be durable.
 */
export async function processDecodedRecords(decoded: DecodedRecords, records: number, deps: ProcessDeps): Promise<ProcessRecordsResult> {
  for (const poison of decoded.poison) {
    const key = await writeQuarantine(deps.processed, deps.prefix ?? '', poison);
    deps.logger.warn('record quarantined', { reason: poison.reason, shardId: poison.shardId, sequenceNumber: poison.sequenceNumber, key, error: poison.error });
  }
  const manifest = await processEvents(decoded.events, { ...deps, recordOrigin: (event) => decoded.origins.get(event.id), watermarks: [...decoded.watermarks.values()], reconciles: decoded.reconciles });
  // After the batch is durable, as processEvents counts its own: a failed batch is retried whole.
  if (decoded.poison.length > 0) (deps.metrics ?? loggingMetrics(deps.logger)).count(METRIC.eventsQuarantined, decoded.poison.length);
  return { manifest, records, events: decoded.events.length, quarantined: decoded.poison.length };
}
