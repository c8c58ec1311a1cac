import { errorMessage } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { StreamRecordInput } from '../../stream-processors/decode-records.js';
import type { ProcessRecordsResult } from '../../stream-processors/process-records.js';
import type { DeadLetterQueue } from './dead-letter-queue.js';
import { parseFailureRecord, type KinesisFailureRange } from './failure-record.js';

/**
 * Redrive of the processor's dead-letter queue, after the cause of the failures was fixed. For each
 * on-failure record: re-read its range from the stream, process it exactly as the Lambda does
 * (processRecords: quarantine for poison, Parquet + manifest for the rest), and only then delete the
 * message. Idempotent: a range processed again (a crash between processing and delete, or a second
 * run) yields the same events, so the same batchId and the same Parquet keys; the loader's ledger
 * loads a batchId once, so nothing is doubled in the warehouse.
 * A message that is not a Kinesis failure record, or whose range cannot be read whole, or whose
 * processing fails, is left in the queue and reported; the run continues with the others.
 */
export interface RedriveDeps {
  queue: DeadLetterQueue;
  readRange(range: KinesisFailureRange): Promise<StreamRecordInput[]>;
  process(records: StreamRecordInput[]): Promise<ProcessRecordsResult>;
  logger: Logger;
  /** Stop after this many messages (default 1000) so one run stays bounded. */
  maxMessages?: number;
}

export interface RedriveReport {
  redriven: Array<{ messageId: string; shardId: string; startSequenceNumber: string; endSequenceNumber: string; records: number; events: number; quarantined: number; batchId: string | null }>;
  /** Left in the queue: not ours to judge. */
  skipped: Array<{ messageId: string; reason: string }>;
  /** Left in the queue: retried by the next run, once the cause is fixed. */
  failed: Array<{ messageId: string; range?: string; error: string }>;
}

export async function redriveDeadLetterQueue(deps: RedriveDeps): Promise<RedriveReport> {
  const report: RedriveReport = { redriven: [], skipped: [], failed: [] };
  const maxMessages = deps.maxMessages ?? 1000;
  let handled = 0;
  while (handled < maxMessages) {
    const messages = await deps.queue.receive();
    if (messages.length === 0) break;
    for (const message of messages) {
      handled++;
      const parsed = parseFailureRecord(message.body);
      if (!parsed.ok) {
        report.skipped.push({ messageId: message.messageId, reason: parsed.reason });
        deps.logger.warn('dead-letter message skipped', { messageId: message.messageId, reason: parsed.reason });
        continue;
      }
      const { range } = parsed;
      const label = `${range.shardId} ${range.startSequenceNumber}..${range.endSequenceNumber}`;
      try {
        const records = await deps.readRange(range);
        const result = await deps.process(records);
        // Delete only now: the range's manifest (the commit point) is durable.
        await deps.queue.delete(message);
        report.redriven.push({
          messageId: message.messageId,
          shardId: range.shardId,
          startSequenceNumber: range.startSequenceNumber,
          endSequenceNumber: range.endSequenceNumber,
          records: records.length,
          events: result.events,
          quarantined: result.quarantined,
          batchId: result.manifest?.batchId ?? null,
        });
        deps.logger.info('dead-letter range redriven', { messageId: message.messageId, shardId: range.shardId, records: records.length, batchId: result.manifest?.batchId });
      } catch (error) {
        report.failed.push({ messageId: message.messageId, range: label, error: errorMessage(error) });
        deps.logger.error('dead-letter range not redriven; the message stays in the queue', { messageId: message.messageId, range: label, error: errorMessage(error) });
      }
    }
  }
  return report;
}
