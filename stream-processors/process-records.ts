import { METRIC } from '../platform/metrics.js';
import type { BatchManifest } from '../contracts/manifest.js';
import { decodeRecordsLazily, type LazyDecodedRecords, type StreamRecordInput } from './decode-records.js';
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
  return processDecodedRecords(decodeRecordsLazily(records), records.length, deps);
}

/**
 * processRecords for records being decoded (decodeRecordsLazily): each event is parsed when
 * processEvents reaches it. The poison found on the way is quarantined once processEvents is done
 * (quarantine keys are content hashes, so the order of the writes does not matter), before the
 * batch counts as done: its checkpoint still follows every write.
 */
export async function processDecodedRecords(decoded: LazyDecodedRecords, records: number, deps: ProcessDeps): Promise<ProcessRecordsResult> {
  const manifest = await processEvents(decoded.events, { ...deps, recordOrigin: (event) => decoded.originOf(event), watermarks: [...decoded.watermarks.values()], reconciles: decoded.reconciles });
  const poisoned = decoded.poison();
  for (const poison of poisoned) {
    const key = await writeQuarantine(deps.processed, deps.prefix ?? '', poison);
    deps.logger.warn('record quarantined', { reason: poison.reason, shardId: poison.shardId, sequenceNumber: poison.sequenceNumber, key, error: poison.error });
  }
  // After the batch is durable, as processEvents counts its own: a failed batch is retried whole.
  if (poisoned.length > 0) (deps.metrics ?? loggingMetrics(deps.logger)).count(METRIC.eventsQuarantined, poisoned.length);
  return { manifest, records, events: decoded.eventCount(), quarantined: poisoned.length };
}
